// pod-security: Kubernetes' own Pod Security Admission checks (k8s.io/pod-security-admission, the
// library the API server's admission plugin runs) over pods given as JSON, offline.
//
// stdin:  {"namespaces": {"<ns>": {"<label>": "<value>", ...}}, "pods": [{"id": "...", "namespace": "...", "metadata": {...}, "spec": {...}}]}
// stdout: one JSON object per pod, in input order:
//
//	{"id": "...", "level": "restricted", "version": "latest", "allowed": false, "forbidden": [{"reason": "...", "detail": "..."}]}
//
// The namespace's pod-security.kubernetes.io/enforce and enforce-version labels pick the level,
// with the API server's defaults (privileged, latest) when unlabelled, as the plugin does. A bad
// label is reported as the plugin reports it (the pod is evaluated at restricted, latest).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

type input struct {
	Namespaces map[string]map[string]string `json:"namespaces"`
	Pods       []struct {
		ID        string            `json:"id"`
		Namespace string            `json:"namespace"`
		Metadata  metav1.ObjectMeta `json:"metadata"`
		Spec      corev1.PodSpec    `json:"spec"`
	} `json:"pods"`
}

type forbidden struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type verdict struct {
	ID          string      `json:"id"`
	Level       string      `json:"level"`
	Version     string      `json:"version"`
	Allowed     bool        `json:"allowed"`
	Forbidden   []forbidden `json:"forbidden"`
	LabelErrors []string    `json:"labelErrors,omitempty"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintf(os.Stderr, "pod-security: bad input: %v\n", err)
		os.Exit(2)
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks())
	if err != nil {
		fmt.Fprintf(os.Stderr, "pod-security: %v\n", err)
		os.Exit(2)
	}
	// The API server's defaults when a namespace has no label: privileged at the latest version.
	defaults := api.Policy{
		Enforce: api.LevelVersion{Level: api.LevelPrivileged, Version: api.LatestVersion()},
		Audit:   api.LevelVersion{Level: api.LevelPrivileged, Version: api.LatestVersion()},
		Warn:    api.LevelVersion{Level: api.LevelPrivileged, Version: api.LatestVersion()},
	}
	out := json.NewEncoder(os.Stdout)
	for i := range in.Pods {
		p := &in.Pods[i]
		pol, errs := api.PolicyToEvaluate(in.Namespaces[p.Namespace], defaults)
		res := policy.AggregateCheckResults(evaluator.EvaluatePod(pol.Enforce, &p.Metadata, &p.Spec))
		v := verdict{ID: p.ID, Level: string(pol.Enforce.Level), Version: pol.Enforce.Version.String(), Allowed: res.Allowed, Forbidden: []forbidden{}}
		for j, r := range res.ForbiddenReasons {
			v.Forbidden = append(v.Forbidden, forbidden{Reason: r, Detail: res.ForbiddenDetails[j]})
		}
		for _, e := range errs {
			v.LabelErrors = append(v.LabelErrors, e.Error())
		}
		if err := out.Encode(v); err != nil {
			os.Exit(2)
		}
	}
}
