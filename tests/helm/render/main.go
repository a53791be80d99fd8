// Command render renders a Helm chart the way `helm template` does, for tests
// on machines without Helm. It is NOT helm: it is Go's text/template with the
// Sprig function library (what Helm uses) plus re-implementations of Helm's own
// functions (include, tpl, required, toYaml, fromYaml, fromYamlArray, toJson,
// fromJson, fromJsonArray, lookup returning nothing) and built-in objects
// (.Values coalesced over values.yaml, .Release, .Chart, .Capabilities,
// .Files, .Template). Not covered: subcharts, hooks, toToml, schema validation
// (done by ajv in tests/helm), and helm's kind-ordering of the output.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var valueFiles, apiVersions multiFlag
	chartDir := flag.String("chart", "", "chart directory (required)")
	kubeVersion := flag.String("kube-version", "1.30.0", "Kubernetes version reported by .Capabilities.KubeVersion")
	releaseName := flag.String("release-name", "ramflow", ".Release.Name")
	namespace := flag.String("namespace", "default", ".Release.Namespace")
	notes := flag.Bool("notes", false, "render templates/NOTES.txt instead of the manifests")
	flag.Var(&valueFiles, "f", "values file merged over values.yaml (repeatable, later wins)")
	flag.Var(&apiVersions, "api-versions", "API version reported by .Capabilities.APIVersions.Has (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		fmt.Fprintln(os.Stderr, "usage: render -chart DIR [-f values.yaml]... [-kube-version 1.30.0] [-notes]")
		os.Exit(2)
	}
	if err := run(*chartDir, valueFiles, *kubeVersion, apiVersions, *releaseName, *namespace, *notes); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(chartDir string, valueFiles []string, kubeVersion string, apiVersions []string, release, namespace string, notes bool) error {
	md, err := loadMetadata(chartDir)
	if err != nil {
		return err
	}
	caps, err := newCapabilities(kubeVersion, apiVersions)
	if err != nil {
		return err
	}
	if err := checkKubeVersion(md, caps); err != nil {
		return err
	}
	values, err := readValuesFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		override, err := readValuesFile(f)
		if err != nil {
			return err
		}
		values = coalesce(values, override)
	}
	files, err := loadFiles(chartDir)
	if err != nil {
		return err
	}
	top := map[string]interface{}{
		"Values":       values,
		"Chart":        md,
		"Capabilities": caps,
		"Files":        files,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
	}
	out, err := render(chartDir, top, md.Name, notes)
	if err != nil {
		return err
	}
	for _, r := range out {
		if notes {
			fmt.Print(r.Text)
			continue
		}
		fmt.Printf("---\n# Source: %s\n%s\n", r.Source, strings.Trim(r.Text, "\n"))
	}
	return nil
}
