package stacks

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/regioninfo"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// LoadConfig reads the app's context (cdk.json and -c flags, as the CDK CLI passed them) into a
// validated config. Every problem is reported in one error, each naming its key and how to fix
// it, so a user fixes them all in one go.
func LoadConfig(app awscdk.App) (config.Config, error) {
	values, _ := app.Node().GetAllContext(nil).(map[string]any)
	root, err := config.ModuleRoot()
	if err != nil {
		return config.Config{}, err
	}
	file, _ := config.CDKJSONContextRaw(filepath.Join(root, "cdk.json"))
	cfg, err := config.FromContext(values, file)
	if err != nil {
		return config.Config{}, err
	}
	return cfg, checkRegion(cfg)
}

// checkRegion refuses a well-formed region code that the pinned aws-cdk-lib does not know: the
// region database gives partitions and service principals, which a guess would get wrong.
func checkRegion(cfg config.Config) error {
	if slices.Contains(knownRegions(), cfg.Region) {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n%s: %q is not an AWS region this CDK version knows; use a region code such as us-east-1 or eu-west-1",
		config.RegionKey, cfg.Region)
}

// knownRegions lists the regions of the pinned aws-cdk-lib's region database, so the list
// grows when the CDK is upgraded rather than when someone edits this file.
var knownRegions = sync.OnceValue(func() []string {
	var names []string
	for _, r := range *regioninfo.RegionInfo_Regions() {
		names = append(names, *r.Name())
	}
	return names
})
