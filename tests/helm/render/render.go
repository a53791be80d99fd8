package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

// Rendered is one template's output, keyed like helm's "# Source:" lines.
type Rendered struct {
	Source string
	Text   string
}

type engine struct {
	set       *template.Template
	chartName string
}

func (e *engine) include(name string, data interface{}) (string, error) {
	var b strings.Builder
	err := e.set.ExecuteTemplate(&b, name, data)
	return b.String(), err
}

func (e *engine) tpl(text string, data interface{}) (string, error) {
	t, err := e.set.Clone()
	if err != nil {
		return "", err
	}
	t, err = t.New("tpl").Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.ReplaceAll(b.String(), "<no value>", ""), nil
}

// render parses every file of templates/ into one set (partials included, as
// helm does) and executes each one whose name does not start with "_".
// NOTES.txt is rendered only when notes is true, and then alone.
func render(chartDir string, top map[string]interface{}, chartName string, notes bool) ([]Rendered, error) {
	e := &engine{chartName: chartName}
	e.set = template.New(chartName).Option("missingkey=zero").Funcs(funcMap()).
		Funcs(template.FuncMap{"include": e.include, "tpl": e.tpl})

	tdir := filepath.Join(chartDir, "templates")
	var names []string
	err := filepath.Walk(tdir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		name := chartName + "/" + filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := e.set.New(name).Parse(string(data)); err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)

	var out []Rendered
	for _, name := range names {
		base := filepath.Base(name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes {
			continue
		}
		vals := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var b strings.Builder
		if err := e.set.ExecuteTemplate(&b, name, vals); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		text := strings.ReplaceAll(b.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		out = append(out, Rendered{Source: name, Text: text})
	}
	return out, nil
}
