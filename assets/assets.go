// Package assets embeds the non-code files the stacks ship, so the synthesized template carries
// them and the local rehearsal runs the very same files.
package assets

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Buildspec file names.
const (
	ApplicationBuildspec = "buildspec-application.yml"
	SynthBuildspec       = "buildspec-synth.yml"
	SmokeBuildspec       = "buildspec-smoke.yml"

	// The trusted buildspecs: they run no code from the repository (TrustedBuildspecs).
	PipelineChangesBuildspec = "buildspec-pipeline-changes.yml"
	UpdatePipelineBuildspec  = "buildspec-update-pipeline.yml"
	RolesCheckBuildspec      = "buildspec-roles-check.yml"
	ArtifactDigestsBuildspec = "buildspec-artifact-digests.yml"

	// ReviewScript compares templates for the trusted buildspecs, which carry it inline.
	ReviewScript = "review.js"

	// CDKCLIVersion is the CDK CLI the trusted buildspecs install: the version package.json
	// pins (a test keeps them equal), written into the deployed buildspec so that a push cannot
	// swap the CLI that reviews and deploys the pipeline.
	CDKCLIVersion = "2.1148.1"
)

// Buildspecs lists the buildspecs that build the repository's code through make.
var Buildspecs = []string{ApplicationBuildspec, SynthBuildspec, SmokeBuildspec}

// TrustedBuildspecs lists the buildspecs of the projects that hold more power than a push
// should: they review and deploy the pipeline stack, or read another account. They run only
// commands fixed in the deployed pipeline and treat their input artifact as data, so what they
// do changes only through a pipeline update that they reviewed first.
var TrustedBuildspecs = []string{PipelineChangesBuildspec, UpdatePipelineBuildspec, RolesCheckBuildspec, ArtifactDigestsBuildspec}

//go:embed *.yml review.js
var files embed.FS

// Script returns one of the embedded scripts, for the local rehearsal and the tests.
func Script(name string) ([]byte, error) { return files.ReadFile(name) }

// Buildspec returns a buildspec decoded into the object form CodeBuild's BuildSpec accepts, with
// review.js (gzipped, then base64: CodeBuild takes at most 25,600 characters of inline buildspec)
// and the CLI version filled in.
func Buildspec(name string) (map[string]any, error) {
	raw, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("buildspec %s: %w", name, err)
	}
	script, err := files.ReadFile(ReviewScript)
	if err != nil {
		return nil, err
	}
	var packed bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&packed, gzip.BestCompression)
	if _, err := zw.Write(script); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	raw = []byte(strings.NewReplacer(
		"{{review.js}}", base64.StdEncoding.EncodeToString(packed.Bytes()),
		"{{cdk-version}}", CDKCLIVersion,
	).Replace(string(raw)))
	var spec map[string]any
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("buildspec %s is not valid YAML: %w", name, err)
	}
	if spec["version"] == nil || spec["phases"] == nil {
		return nil, fmt.Errorf("buildspec %s: needs version and phases", name)
	}
	return spec, nil
}
