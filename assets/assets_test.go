package assets

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildspecsParse(t *testing.T) {
	for _, name := range append(append([]string{}, Buildspecs...), TrustedBuildspecs...) {
		spec, err := Buildspec(name)
		require.NoError(t, err, name)
		assert.Equal(t, 0.2, spec["version"], "%s: CodeBuild buildspec version", name)
		if name == SynthBuildspec {
			assert.NotEmpty(t, spec["cache"], "%s keeps Go and jsii caches between builds (on the build host)", name)
		} else {
			assert.Empty(t, spec["cache"], "%s keeps no cache: a cache a push wrote would feed the builds of later commits", name)
		}
		// A plain YAML scalar with ": " in it is a map, which CodeBuild rejects as a command.
		for phase, body := range spec["phases"].(map[string]any) {
			cmds, _ := body.(map[string]any)["commands"].([]any)
			for i, c := range cmds {
				_, isString := c.(string)
				assert.True(t, isString, "%s: phase %s command %d is not a string (quote it): %v", name, phase, i, c)
			}
		}
		assert.NotContains(t, fmt.Sprint(spec), "{{", "%s: every placeholder is filled", name)
	}
	_, err := Buildspec("missing.yml")
	assert.Error(t, err)
}

// The buildspecs call make targets, so CodeBuild and a laptop run the same commands; a renamed
// target would otherwise surface only as a failed pipeline run.
func TestBuildspecsCallExistingMakeTargets(t *testing.T) {
	makefile, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	for _, name := range Buildspecs {
		spec, err := Buildspec(name)
		require.NoError(t, err)
		phases := spec["phases"].(map[string]any)
		calls := 0
		for _, phase := range phases {
			cmds, _ := phase.(map[string]any)["commands"].([]any)
			for _, c := range cmds {
				fields := strings.Fields(c.(string))
				if len(fields) < 2 || fields[0] != "make" {
					continue
				}
				calls++
				target := fields[1]
				assert.Regexp(t, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(target)+`:`), string(makefile),
					"%s runs `make %s`, which the Makefile must define", name, target)
			}
		}
		assert.Positive(t, calls, "%s builds through make", name)
	}
}

func TestApplicationBuildspecPackagesWhatMakeBuilds(t *testing.T) {
	spec, err := Buildspec(ApplicationBuildspec)
	require.NoError(t, err)
	artifacts := spec["artifacts"].(map[string]any)
	makefile, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	out := artifacts["base-directory"].(string) + "/bootstrap"
	assert.Contains(t, string(makefile), "-o "+out, "make lambda-build must write the file the artifact packages")
}
