package stacks

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// The tests in this file pin the properties that let a failed deployment recover by itself, or
// with the one command the README names. Each failure mode is described where it is tested.

// fixedName returns the physical name a resource asks for, if it sets one as a literal: a
// property ending in "Name" that names the resource itself (not another resource it refers to).
func fixedName(r map[string]any) (string, bool) {
	for key, v := range asMap(get(r, "Properties")) {
		name, literal := v.(string)
		if literal && strings.HasSuffix(key, "Name") && !referenceNames[key] {
			return name, true
		}
	}
	return "", false
}

// referenceNames are "...Name" properties that name something else, not the resource itself.
var referenceNames = map[string]bool{"DeploymentConfigName": true, "ApplicationName": true, "StageName": true}

// A resource that outlives its stack and has a fixed name blocks every later create of that
// name. RETAIN keeps it even when a first create rolls back, so the retry fails on the name
// forever; RETAIN_ON_UPDATE_OR_DELETE (RetainExceptOnCreate) lets a failed create clean up.
// After a deliberate delete the retained resource must still go before the next create: what
// the templates retain must be exactly config.Retained, the list that make purge, the
// preflight and the rehearsal read, and the README's Cleanup section must name each of them.
func TestNoRetainedResourceBlocksACreate(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	cleanup := section(string(readme), "## Cleanup")
	require.NotEmpty(t, cleanup, "the README needs a Cleanup section")
	var retained []string
	for id, tmpl := range raw {
		for rid, r := range tmpl["Resources"].(map[string]any) {
			res := r.(map[string]any)
			policy, _ := res["DeletionPolicy"].(string)
			if policy == "" || policy == "Delete" {
				continue
			}
			name, fixed := fixedName(res)
			if !fixed {
				continue // CloudFormation generates a new name on the next create
			}
			assert.Equal(t, "RetainExceptOnCreate", policy, "%s/%s (%s %q) is retained when a first create rolls back, and every retry "+
				"then fails on its fixed name: use RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE", id, rid, res["Type"], name)
			retained = append(retained, name)
		}
	}
	var listed []string
	for _, r := range config.Retained(testConfig) {
		listed = append(listed, r.Name)
		general := readmeName(r)
		assert.Contains(t, cleanup, general, "%s survives its stack with a fixed name: the README's Cleanup section must say how %s is removed "+
			"before the next create", r.Name, general)
	}
	assert.ElementsMatch(t, listed, retained, "config.Retained must list exactly what the templates retain under a fixed name, "+
		"or make purge and the preflight miss one")
}

// readmeName writes the name of a retained resource the way the README does.
func readmeName(r config.RetainedResource) string {
	switch r.Kind {
	case config.KindBucket:
		return strings.ReplaceAll(r.Name, r.Env.Account, "<pipeline-account>")
	case config.KindLogGroup:
		return strings.ReplaceAll(r.Name, r.Env.AppName(), "<app-name>-<env>")
	}
	return "`" + config.RepositoryNameKey + "`"
}

// section returns the text of a Markdown section up to the next heading of the same level.
func section(doc, heading string) string {
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		return ""
	}
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// A rollback needs the code it rolls back to. CloudFormation's rollback of an application stack
// re-applies the previous Code.S3Key, and a stage rollback redeploys the artifacts of the last
// successful execution, however old either is; if a lifecycle rule expired that object, the
// rollback fails with NoSuchKey and the stack is stuck in UPDATE_ROLLBACK_FAILED. So no rule
// may expire anything under the pipeline's artifact prefix, while the build caches expire
// under their own.
func TestArtifactsOutliveEveryRollback(t *testing.T) {
	_, bucket := onlyResource(t, config.PipelineStackID, "AWS::S3::Bucket")
	artifacts := config.PipelineArtifactPrefix(config.PipelineName)
	var cacheRule bool
	for _, r := range list(get(bucket, "Properties", "LifecycleConfiguration", "Rules")) {
		prefix, _ := get(r, "Prefix").(string)
		if p, ok := get(r, "Filter", "Prefix").(string); ok {
			prefix = p
		}
		expires := false
		for _, key := range []string{"ExpirationInDays", "ExpirationDate", "Transitions", "Transition", "NoncurrentVersionExpiration"} {
			expires = expires || get(r, key) != nil
		}
		if !expires {
			continue
		}
		assert.False(t, strings.HasPrefix(artifacts, prefix) || strings.HasPrefix(prefix, artifacts),
			"lifecycle rule %v expires pipeline artifacts (%s...), which rollbacks need", get(r, "Id"), artifacts)
		if prefix == config.BuildCachePrefix {
			cacheRule = true
			assert.Equal(t, float64(config.BuildCacheDays), get(r, "ExpirationInDays"))
		}
	}
	assert.True(t, cacheRule, "build caches must expire under %s", config.BuildCachePrefix)

	for id, project := range resourcesOf(config.PipelineStackID, "AWS::CodeBuild::Project") {
		assert.NotEqual(t, "S3", get(project, "Properties", "Cache", "Type"), "%s keeps no cache in the artifact bucket", id)
	}
	assert.Equal(t, "CrossAccountPipeline/", artifacts, "CodePipeline keeps artifacts under the first 20 characters of the pipeline's name")
}

// REPLACE_ON_FAILURE deletes a stack in any failed state (UPDATE_ROLLBACK_FAILED included) and
// creates it again. That delete is a real one, so a retained resource with a fixed name would
// survive it and make every recreate fail, in a loop the stage rollback starts by itself. A
// replaceable stack therefore retains nothing under a fixed name.
func TestReplaceableStacksRetainNothingNamed(t *testing.T) {
	replaced := 0
	for _, s := range pipelineStages(t) {
		deploy := get(deployActionIn(s), "Configuration")
		if get(deploy, "ActionMode") != "REPLACE_ON_FAILURE" {
			continue
		}
		replaced++
		template := strings.TrimPrefix(get(deploy, "TemplatePath").(string), "CdkBuildOutput::")
		id := strings.TrimSuffix(template, config.TemplateFile(""))
		require.Contains(t, raw, id)
		for rid, r := range raw[id]["Resources"].(map[string]any) {
			res := r.(map[string]any)
			policy, _ := res["DeletionPolicy"].(string)
			if name, fixed := fixedName(res); fixed && policy != "" && policy != "Delete" {
				t.Errorf("%s/%s keeps %q when %s deletes and recreates the stack; the recreate would fail on the name forever",
					id, rid, name, get(s, "Name"))
			}
		}
	}
	assert.Equal(t, 1, replaced, "exactly the first environment replaces its failed stack")
}
