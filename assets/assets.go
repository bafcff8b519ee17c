// Package assets embeds the non-code files the stacks ship, so the synthesized template carries
// them and the local rehearsal runs the very same files.
package assets

import (
	"embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Buildspec file names.
const (
	ApplicationBuildspec = "buildspec-application.yml"
	SynthBuildspec       = "buildspec-synth.yml"
	SmokeBuildspec       = "buildspec-smoke.yml"
)

// Buildspecs lists every buildspec the pipeline uses.
var Buildspecs = []string{ApplicationBuildspec, SynthBuildspec, SmokeBuildspec}

//go:embed *.yml
var files embed.FS

// Buildspec returns a buildspec decoded into the object form CodeBuild's BuildSpec accepts.
func Buildspec(name string) (map[string]any, error) {
	raw, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("buildspec %s: %w", name, err)
	}
	var spec map[string]any
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("buildspec %s is not valid YAML: %w", name, err)
	}
	if spec["version"] == nil || spec["phases"] == nil {
		return nil, fmt.Errorf("buildspec %s: needs version and phases", name)
	}
	return spec, nil
}
