package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Metadata is the part of Helm's chart.Metadata (Chart.yaml) that templates read as .Chart.
type Metadata struct {
	APIVersion  string            `json:"apiVersion"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	AppVersion  string            `json:"appVersion"`
	Description string            `json:"description"`
	Type        string            `json:"type"`
	KubeVersion string            `json:"kubeVersion"`
	Home        string            `json:"home"`
	Keywords    []string          `json:"keywords"`
	Sources     []string          `json:"sources"`
	Annotations map[string]string `json:"annotations"`
}

// KubeVersion and Capabilities mirror Helm's chartutil types of the same names.
type KubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

func newCapabilities(version string, apiVersions []string) (Capabilities, error) {
	v, err := semver.NewVersion(version)
	if err != nil {
		return Capabilities{}, fmt.Errorf("--kube-version %q: %w", version, err)
	}
	full := "v" + v.String()
	return Capabilities{
		KubeVersion: KubeVersion{Version: full, Major: fmt.Sprint(v.Major()), Minor: fmt.Sprint(v.Minor()), GitVersion: full},
		APIVersions: VersionSet(apiVersions),
	}, nil
}

func loadMetadata(chartDir string) (Metadata, error) {
	var md Metadata
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return md, err
	}
	if err := yamlToJSONish(data, &md); err != nil {
		return md, fmt.Errorf("Chart.yaml: %w", err)
	}
	if md.APIVersion != "v2" {
		return md, fmt.Errorf("Chart.yaml: apiVersion %q, want v2", md.APIVersion)
	}
	if md.Name == "" || md.Version == "" {
		return md, fmt.Errorf("Chart.yaml: name and version are required")
	}
	return md, nil
}

// checkKubeVersion refuses a cluster version outside Chart.yaml's kubeVersion, as helm does.
func checkKubeVersion(md Metadata, caps Capabilities) error {
	if strings.TrimSpace(md.KubeVersion) == "" {
		return nil
	}
	c, err := semver.NewConstraint(md.KubeVersion)
	if err != nil {
		return fmt.Errorf("Chart.yaml kubeVersion %q: %w", md.KubeVersion, err)
	}
	v, _ := semver.NewVersion(caps.KubeVersion.Version)
	if !c.Check(v) {
		return fmt.Errorf("chart requires kubeVersion %s which is incompatible with Kubernetes %s", md.KubeVersion, caps.KubeVersion.Version)
	}
	return nil
}
