package stacks

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// Test accounts. They differ from cdk.json's placeholders on purpose: a test that passes only
// because some value happens to equal the shipped placeholder would hide a hard-coded account.
var testConfig = config.Config{
	Environments:   config.ShorthandEnvironments(devAccount, prodAccount, true),
	Region:         "eu-west-1",
	RepositoryName: "team-repo",
	Branch:         "trunk",
	AppName:        config.DefaultAppName,
	SmokeTest:      config.DefaultSmokeTest,
	Shorthand:      true,
}

const devAccount, prodAccount = "123456789012", "210987654321"

// The default pair's names, as the tests of the two-environment setup use them.
var (
	devEnv, prodEnv         = testConfig.Environments[0], testConfig.Environments[1]
	DevApplicationStackID   = devEnv.StackID()
	ProdApplicationStackID  = prodEnv.StackID()
	DevDeploymentStackName  = devEnv.DeploymentStackName()
	ProdDeploymentStackName = prodEnv.DeploymentStackName()
	ProdRolesStackID        = config.RolesStackID([]config.Environment{prodEnv})
)

// One synthesized app for the whole package: a jsii start and a synth cost seconds, an
// assertion on the result a few milliseconds.
var (
	app      awscdk.App
	built    *Stacks
	assembly cxapi.CloudAssembly
	// templates holds each stack's template once, as assertions.Template and as plain JSON.
	templates = map[string]assertions.Template{}
	// outdir is the cloud assembly's folder, removed when the tests are done.
	outdir string
	raw    = map[string]map[string]any{}
	// validation is the report of CDK's built-in validation over the test config's templates.
	validation map[string]any
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *variantsWorker != "" {
		os.Exit(synthesizeVariants(*variantsWorker))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	defer jsii.Close()
	defer func() {
		if outdir != "" {
			os.RemoveAll(outdir)
		}
	}()
	var err error
	if worker, err = startVariantWorker(); err != nil {
		fmt.Fprintln(os.Stderr, "starting the variant worker:", err)
		return 1
	}
	defer worker.stop()
	if err := synthOnce(); err != nil {
		fmt.Fprintln(os.Stderr, "synthesizing the test app:", err)
		return 1
	}
	return m.Run()
}

func synthOnce() error {
	ctx, err := config.CDKJSONContext("../cdk.json")
	if err != nil {
		return err
	}
	if outdir, err = os.MkdirTemp("", "cdk-test-"); err != nil {
		return err
	}
	// The built-in validation runs over a synth of its own, only for templates this machine has
	// not validated yet (validationReport).
	app = awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir), BuiltinCloudFormationValidation: jsii.Bool(false)})
	if built, err = Build(app, testConfig); err != nil {
		return err
	}
	assembly = app.Synth(nil)
	for _, s := range built.All() {
		id := *s.StackName()
		tmpl := assembly.GetStackByName(jsii.String(id)).Template()
		asMap, ok := tmpl.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: template is a %T", id, tmpl)
		}
		raw[id] = asMap
		templates[id] = assertions.Template_FromJSON(&asMap, nil)
	}
	validation, err = validationReport(ctx, testConfig, raw)
	return err
}

// cdkErr runs a CDK assertion and turns its panic into an error, so that one failed assertion
// is reported as a test failure and the other checks still run.
func cdkErr(check func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	check()
	return nil
}

// expect reports a failed CDK assertion with why it matters.
func expect(t *testing.T, why string, check func()) {
	t.Helper()
	if err := cdkErr(check); err != nil {
		t.Errorf("%s:\n%v", why, err)
	}
}

// props is Shorthand for the object patterns the assertions take.
type props = map[string]any

func like(p props) assertions.Matcher { return assertions.Match_ObjectLike(&p) }

// resourcesOf returns the resources of a type in a stack's template of the shared app, by
// logical ID.
func resourcesOf(stackID, typ string) map[string]map[string]any {
	return resourcesIn(raw[stackID], typ)
}

// resourcesIn returns the resources of a type in a template, by logical ID.
func resourcesIn(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		if get(r, "Type") == typ {
			out[id] = r.(map[string]any)
		}
	}
	return out
}

// stageOf finds a stage of a pipeline template by name.
func stageOf(t *testing.T, tmpl map[string]any, name string) map[string]any {
	t.Helper()
	for _, r := range resourcesIn(tmpl, "AWS::CodePipeline::Pipeline") {
		for _, s := range list(get(r, "Properties", "Stages")) {
			if get(s, "Name") == name {
				return s.(map[string]any)
			}
		}
	}
	t.Fatalf("no stage %s", name)
	return nil
}

// onlyResource returns the single resource of a type, failing the test if there is not one.
func onlyResource(t *testing.T, stackID, typ string) (string, map[string]any) {
	t.Helper()
	all := resourcesOf(stackID, typ)
	if len(all) != 1 {
		t.Fatalf("%s: want exactly one %s, got %d", stackID, typ, len(all))
	}
	for id, r := range all {
		return id, r
	}
	return "", nil
}

// deployActionIn returns a stage's CloudFormation deploy action (nil if it has none).
func deployActionIn(stage any) any {
	for _, a := range list(get(stage, "Actions")) {
		if get(a, "Name") == "Deploy" {
			return a
		}
	}
	return nil
}

// deployStageActions is the order of the actions of every deploy stage.
var deployStageActions = []string{"1:" + config.VerifyArtifactsAction, "2:Deploy", "3:Smoke_Test"}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// list returns v as a slice, wrapping a single value: IAM accepts both forms.
func list(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// readDirNames lists the names in a folder.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// jsonFile decodes a JSON object from a file.
func jsonFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// envNamed returns the test config's environment of that name.
func envNamed(name string) config.Environment {
	for _, e := range testConfig.Environments {
		if e.Name == name {
			return e
		}
	}
	panic("no test environment " + name)
}

// testValues is testConfig as the raw context values a user would set.
func testValues() map[string]any {
	return map[string]any{config.DevAccountKey: devAccount, config.ProdAccountKey: prodAccount,
		config.RegionKey: testConfig.Region, config.BranchKey: testConfig.Branch}
}

const stagingAccount = "333333333333"

// threeEnvironments is dev -> staging (its own account) -> prod, as -c environments='[...]' gives it.
func threeEnvironments() string {
	return fmt.Sprintf(`[{"name":"dev","account":%q},{"name":"staging","account":%q},{"name":"prod","account":%q}]`,
		devAccount, stagingAccount, prodAccount)
}
