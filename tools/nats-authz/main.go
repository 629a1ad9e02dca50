// nats-authz runs the real NATS server (github.com/nats-io/nats-server/v2, the version the nats
// chart deploys) in-process with a server config the platform renders, and connects as each
// identity with its client certificate to find what the server lets it do. It prints one verdict
// per check, so tests judge the rendered authorization by the server's own TLS mapping and
// permission engine instead of a model of them.
//
// Input (JSON on stdin):
//
//	{"config": "<nats.conf text>", "env": {"SERVER_NAME": "nats-0"},
//	 "identities": {"<name>": {"uri": "spiffe://...", "inboxPrefix": "_INBOX.x", "foreignCa": false}},
//	 "checks": [{"as": "<name>", "op": "connect|pub|sub|stream-add|kv-add|js-publish|js-consume|kv-put|kv-get|kv-watch",
//	             "subject": "...", "stream": "...", "bucket": "...", "key": "...", "config": {...}}]}
//
// The tool issues the certificates itself: a CA, the server's (for 127.0.0.1), and a client
// certificate per identity naming its URI SAN (from another CA when foreignCa; none when no uri);
// the config's cert_file, key_file and ca_file are pointed at them. The server listens on loopback only; routes, the monitoring port and the pid file are dropped (one
// server, no cluster), JetStream stores under a temporary directory and stream replicas become 1.
// Output (JSON on stdout): the checks in order, each with "allowed" and "detail".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type identity struct {
	URI         string `json:"uri"`
	InboxPrefix string `json:"inboxPrefix"`
	ForeignCA   bool   `json:"foreignCa"`
	cert, key   string
}

type check struct {
	As      string          `json:"as"`
	Op      string          `json:"op"`
	Subject string          `json:"subject,omitempty"`
	Stream  string          `json:"stream,omitempty"`
	Bucket  string          `json:"bucket,omitempty"`
	Key     string          `json:"key,omitempty"`
	Config  json.RawMessage `json:"config,omitempty"`
	Allowed bool            `json:"allowed"`
	Detail  string          `json:"detail"`
}

type input struct {
	Config     string               `json:"config"`
	Env        map[string]string    `json:"env"`
	Identities map[string]*identity `json:"identities"`
	Checks     []check              `json:"checks"`
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "nats-authz: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("reading the input: %v", err)
	}
	tmp, err := os.MkdirTemp("", "nats-authz-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(tmp)
	pki, err := newPKI(tmp)
	if err != nil {
		fail("certificates: %v", err)
	}
	for name, id := range in.Identities {
		if id.URI == "" {
			continue
		}
		if id.cert, id.key, err = pki.client(name, id.URI, id.ForeignCA); err != nil {
			fail("certificate of %s: %v", name, err)
		}
	}
	files := map[string]string{"cert_file": pki.serverCert, "key_file": pki.serverKey, "ca_file": pki.caFile}
	text := regexp.MustCompile(`"(cert_file|key_file|ca_file)":\s*"[^"]*"`).ReplaceAllStringFunc(in.Config, func(m string) string {
		k := strings.Trim(strings.SplitN(m, ":", 2)[0], `"`)
		return fmt.Sprintf("%q: %q", k, files[k])
	})
	for k, v := range in.Env {
		os.Setenv(k, v)
	}
	conf := filepath.Join(tmp, "nats.conf")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		fail("%v", err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		fail("the server refuses the config: %v", err)
	}
	// One server on loopback: the rendered authorization and TLS stay as written.
	opts.Host, opts.Port = "127.0.0.1", -1
	opts.HTTPPort, opts.HTTPSPort = 0, 0
	opts.Cluster = server.ClusterOpts{}
	opts.Routes = nil
	opts.PidFile = ""
	opts.NoSigs = true
	if opts.JetStream {
		opts.StoreDir = filepath.Join(tmp, "js")
	}
	s, err := server.NewServer(opts)
	if err != nil {
		fail("the server refuses the options: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		fail("the server did not start")
	}
	defer s.Shutdown()
	// A server without TLS is reached in plaintext, certificates unused (a finding for the caller).
	url, ca := fmt.Sprintf("tls://127.0.0.1:%d", opts.Port), pki.caFile
	if opts.TLSConfig == nil {
		url, ca = fmt.Sprintf("nats://127.0.0.1:%d", opts.Port), ""
	}
	for i := range in.Checks {
		c := &in.Checks[i]
		id, ok := in.Identities[c.As]
		if c.As != "" && !ok {
			fail("check %d: unknown identity %q", i, c.As)
		}
		if id == nil {
			id = &identity{}
		}
		c.Allowed, c.Detail = run(url, ca, id, c)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	out.SetEscapeHTML(false)
	if err := out.Encode(in.Checks); err != nil {
		fail("%v", err)
	}
}

// connect opens a connection as id; onError runs on every asynchronous error (a permissions violation).
func connect(url, ca string, id *identity, onError func()) (*nats.Conn, error) {
	o := []nats.Option{nats.Timeout(3 * time.Second), nats.NoReconnect(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) { onError() })}
	if ca != "" {
		o = append(o, nats.RootCAs(ca))
	}
	if id.cert != "" && ca != "" {
		o = append(o, nats.ClientCert(id.cert, id.key))
	}
	if id.InboxPrefix != "" {
		o = append(o, nats.CustomInboxPrefix(id.InboxPrefix))
	}
	return nats.Connect(url, o...)
}

// run performs one check on a fresh connection: a permissions violation is sticky on a connection.
func run(url, ca string, id *identity, c *check) (bool, string) {
	// A refused JetStream request gets no reply: the violation ends the wait instead of the timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	nc, err := connect(url, ca, id, cancel)
	if err != nil {
		return false, "connect: " + err.Error()
	}
	defer nc.Close()
	// Core publish and subscribe: the server answers a violation with -ERR before the flush's PONG.
	core := func(op func() error) (bool, string) {
		if err := op(); err != nil {
			return false, err.Error()
		}
		if err := nc.FlushTimeout(3 * time.Second); err != nil {
			return false, "flush: " + err.Error()
		}
		if err := nc.LastError(); err != nil {
			return false, err.Error()
		}
		return true, "ok"
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return false, err.Error()
	}
	result := func(detail string, err error) (bool, string) {
		if err != nil {
			if le := nc.LastError(); le != nil {
				return false, le.Error()
			}
			return false, err.Error()
		}
		return true, detail
	}
	switch c.Op {
	case "connect":
		return true, "connected"
	case "pub":
		return core(func() error { return nc.Publish(c.Subject, []byte("x")) })
	case "sub":
		return core(func() error { _, err := nc.SubscribeSync(c.Subject); return err })
	case "stream-add":
		var cfg jetstream.StreamConfig
		if err := json.Unmarshal(c.Config, &cfg); err != nil {
			return false, "stream config: " + err.Error()
		}
		cfg.Replicas = 1
		_, err := js.CreateOrUpdateStream(ctx, cfg)
		return result("stream "+cfg.Name, err)
	case "kv-add":
		var cfg jetstream.KeyValueConfig
		if err := json.Unmarshal(c.Config, &cfg); err != nil {
			return false, "bucket config: " + err.Error()
		}
		cfg.Replicas = 1
		_, err := js.CreateOrUpdateKeyValue(ctx, cfg)
		return result("bucket "+cfg.Bucket, err)
	case "js-publish":
		ack, err := js.Publish(ctx, c.Subject, []byte("x"))
		if err != nil {
			return result("", err)
		}
		return true, fmt.Sprintf("stored in %s at %d", ack.Stream, ack.Sequence)
	case "js-consume":
		cons, err := js.CreateOrUpdateConsumer(ctx, c.Stream, jetstream.ConsumerConfig{FilterSubject: c.Subject, AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			return result("", err)
		}
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return result("", err)
		}
		n := 0
		for m := range batch.Messages() {
			if err := m.Ack(); err != nil {
				return result("", err)
			}
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return result("", err)
		}
		if err := nc.FlushTimeout(3 * time.Second); err != nil {
			return result("", err)
		}
		if le := nc.LastError(); le != nil {
			return false, le.Error()
		}
		return true, fmt.Sprintf("fetched %d", n)
	case "kv-put":
		kv, err := js.KeyValue(ctx, c.Bucket)
		if err != nil {
			return result("", err)
		}
		_, err = kv.Put(ctx, c.Key, []byte("x"))
		return result("put", err)
	case "kv-watch":
		kv, err := js.KeyValue(ctx, c.Bucket)
		if err != nil {
			return result("", err)
		}
		w, err := kv.WatchAll(ctx)
		if err != nil {
			return result("", err)
		}
		defer w.Stop()
		// The watcher sends the current values, then nil: the watch is established.
		for {
			select {
			case e := <-w.Updates():
				if e == nil {
					return true, "watching"
				}
			case <-ctx.Done():
				if le := nc.LastError(); le != nil {
					return false, le.Error()
				}
				return false, "no initial values before the timeout"
			}
		}
	case "kv-get":
		kv, err := js.KeyValue(ctx, c.Bucket)
		if err != nil {
			return result("", err)
		}
		_, err = kv.Get(ctx, c.Key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return true, "no such key"
		}
		return result("got", err)
	}
	fail("unknown op %q", c.Op)
	return false, ""
}
