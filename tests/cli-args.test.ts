/**
 * The command lines (issue 19): Node's strict parser behind every CLI (render/args.ts), `--help`
 * everywhere, unknown flags and stray words refused with the allowed options named, `--name=value`
 * the same as `--name value`, and `npm run audit` taking any stack file.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main as audit } from "../audit/cli";
import { CHART_OPTIONS, checkArgs, STACK_OPTIONS } from "../render/args";
import { cliArg, stackFromArgs } from "../render/stack";

const ROOT = path.resolve(__dirname, "..");
const run = (cli: string, ...args: string[]) => spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, cli), ...args], { encoding: "utf8", cwd: ROOT, env: process.env });

describe("checkArgs (pure)", () => {
  const opts = { ...STACK_OPTIONS, ...CHART_OPTIONS };
  it("accepts the options of the command, in both spellings", () => {
    expect(checkArgs(["--stack", "prod", "--skip-charts"], opts)).toBeUndefined();
    expect(checkArgs(["--stack=prod", "--charts=helmrelease"], opts)).toBeUndefined();
    expect(cliArg("stack", ["--stack=prod"])).toBe("prod");
  });
  it("refuses an unknown option, a stray word, a missing or an unwanted value, naming what is allowed", () => {
    expect(checkArgs(["--stak", "prod"], opts)).toEqual({ error: expect.stringMatching(/^unknown option --stak; expected one of --stack, --stack-file, .*--help$/) });
    expect(checkArgs(["prod"], opts)).toEqual({ error: expect.stringMatching(/^unexpected argument "prod"; every value follows its --option/) });
    expect(checkArgs(["--stack"], opts)).toEqual({ error: expect.stringMatching(/--stack .*needs a value/) });
    expect(checkArgs(["--skip-charts=yes"], opts)).toEqual({ error: "option --skip-charts takes no value" });
  });
  it("answers --help", () => expect(checkArgs(["--stack", "dev", "--help"], opts)).toEqual({ help: true }));
  it("refuses a stack named twice, and an unknown stack", () => {
    expect(stackFromArgs(["--stack", "dev", "--stack-file", "Pulumi.prod.yaml"])).toEqual({ error: expect.stringMatching(/name the stack twice/) });
    expect(stackFromArgs(["--stack", "staging"])).toEqual({ error: expect.stringMatching(/^unknown stack "staging"; expected one of dev, prod/) });
  });
});

describe.each([
  ["render/cli.ts", "npm run render --"],
  ["formal/cli.ts", "npm run formal --"],
  ["audit/cli.ts", "npm run audit --"],
])("%s", (cli, command) => {
  it("prints its usage for --help and renders nothing", () => {
    const r = run(cli, "--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`usage: ${command}`);
    expect(r.stdout).toMatch(/--stack <name> +a stack of this repository/);
    expect(r.stdout).toMatch(/--help +this text/);
  });
  it("exits 2 on an unknown flag, before rendering anything", () => {
    const r = run(cli, "--stack", "dev", "--outt", "/tmp/x");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^unknown option --outt; expected one of /);
    expect(r.stdout).toBe("");
  });
});

describe("npm run audit -- --stack-file", () => {
  it("audits any stack file, and refuses a bad one with its config lines", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-stack-file-"));
    const bad = path.join(dir, "Pulumi.mine.yaml");
    fs.writeFileSync(bad, fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8").replace("  platform:mesh:\n    replicas: 1", "  platform:mesh:\n    replicas: 1\n    replcas: 2"));
    let err = "";
    expect(await audit(["--stack-file", bad], () => undefined, (s) => void (err += s))).toBe(2);
    expect(err).toMatch(/platform:mesh\.replcas: unknown key/);
    let out = "";
    const good = path.join(dir, "Pulumi.copy.yaml");
    fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), good);
    expect(await audit(["--stack-file", good], (s) => void (out += s), () => undefined)).toBe(0);
    expect(out).toMatch(/resources checked: 0 mandatory/);
  });
});
