//go:build tools

// Package tools pins the Kyverno CLI (kubectl-kyverno) for scripts/install-tools.sh: `go build`
// of github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno from this module, whose go.mod repeats
// Kyverno's own replace directive (go install @version refuses modules with replace directives).
package tools

import _ "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno"
