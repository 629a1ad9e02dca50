// yaml-json reads a YAML file the way Pulumi reads stack files (go-yaml v3, the module Pulumi's Go
// SDK uses) and prints it as JSON, or "error: <message>" and exit 1. tests/yaml-parity.test.ts
// compares it with the program's own reader (render/stack.ts) on the same files.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: yaml-json <file>")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var doc interface{}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
