package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// CDK's built-in template validation (a WebAssembly rule engine) costs about ten CPU-seconds per
// synth, two thirds of the package's setup, and its verdict depends on nothing but the templates
// it reads and the CDK that reads them. So the apps of the tests are synthesized without it, and
// validationReport validates a second synth of the same config only when this machine has not
// validated exactly these templates with exactly these dependencies before. The report is kept
// under the user's cache directory, outside the repository, so no push can supply one: a clean
// clone, CodeBuild's CDK_Synth and every changed template validate afresh.
func validationReport(ctx map[string]any, cfg config.Config, tmpls map[string]map[string]any) (map[string]any, error) {
	key, err := validationKey(tmpls)
	if err != nil {
		return nil, err
	}
	cached := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cached = filepath.Join(dir, "cross-account-pipeline", "validation", key+".json")
		if report, err := jsonFile(cached); err == nil {
			return report, nil
		}
	}
	report, err := validateAgain(ctx, cfg)
	if err != nil || cached == "" {
		return report, err
	}
	if data, err := json.Marshal(report); err == nil && os.MkdirAll(filepath.Dir(cached), 0o755) == nil {
		_ = os.WriteFile(cached, data, 0o644)
	}
	return report, nil
}

// validationKey identifies what the validation reads: every template of an app, and the
// modules (go.sum, which pins aws-cdk-go and with it aws-cdk-lib) and flags (cdk.json) that
// decide how it validates.
func validationKey(tmpls map[string]map[string]any) (string, error) {
	h := sha256.New()
	for _, f := range []string{"../go.sum", "../cdk.json"} {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	for _, id := range slices.Sorted(maps.Keys(tmpls)) {
		data, err := json.Marshal(tmpls[id])
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", id, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// validateAgain synthesizes a config once more with the validation on and returns its report.
// A failed validation would otherwise throw from Synth; this way the report reaches the test,
// which names each finding.
func validateAgain(ctx map[string]any, cfg config.Config) (map[string]any, error) {
	dir, err := os.MkdirTemp("", "cdk-validation-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx = maps.Clone(ctx)
	ctx["@aws-cdk/core:failSynthOnValidationErrors"] = false
	validated := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(dir), BuiltinCloudFormationValidation: jsii.Bool(true)})
	if _, err := Build(validated, cfg); err != nil {
		return nil, err
	}
	validated.Synth(nil)
	report, err := jsonFile(filepath.Join(dir, "validation-report.json"))
	if err != nil {
		return nil, fmt.Errorf("the validation report is written only when the validation ran; is CDK_VALIDATION=false set? %w", err)
	}
	return report, nil
}
