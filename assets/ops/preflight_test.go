package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// The preflight is tested against moto_server, an emulator of the AWS APIs, one server for both
// simulated accounts, reached through shared-config profiles with endpoint_url and each
// account's access key, exactly as a user's profiles reach AWS. Nothing here can reach AWS:
// every configuration the code loads is checked to point at a loopback address
// (loopbackAccounts), and credentials come only from the profiles written here.

const (
	devAccount  = "111111111111"
	prodAccount = "222222222222"
	region      = "us-east-1"
	// keyArn stands for the pipeline's artifact key in a setup; apply creates a real one in the
	// emulator, whose ARN replaces it (the emulator chooses key IDs).
	keyArn = "{key}"
)

// pairFlags give the command the two emulated accounts whatever cdk.json holds.
var pairFlags = []string{"-c", "dev-account=" + devAccount, "-c", "prod-account=" + prodAccount, "-c", "region=" + region}

type emulator struct {
	account  string
	endpoint string
}

// emulators are started once for the package and reset between scenarios.
var emulators map[string]*emulator

func TestMain(m *testing.M) {
	code, err := runWithEmulators(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithEmulators(m *testing.M) (int, error) {
	server, err := exec.LookPath("moto_server")
	if err != nil {
		return 0, fmt.Errorf("moto_server is not installed: `make test` installs moto 5.2.1 with pip (%v)", err)
	}
	// One server holds both accounts: each request's account is the one its access key was
	// created in (reset), so every path, the command's included, signs in as a user would.
	// A second server would import moto's services a second time, seconds of CPU.
	proc, endpoint, err := startEmulator(server)
	if err != nil {
		return 0, err
	}
	defer func() { _ = proc.Process.Kill() }()
	emulators = map[string]*emulator{}
	for _, account := range []string{devAccount, prodAccount} {
		emulators[account] = &emulator{account: account, endpoint: endpoint}
	}
	return m.Run(), nil
}

// startEmulator starts moto_server on a free loopback port. A free port can be taken between our
// probe and moto's bind; a server that exits before it answers is started again on another port.
func startEmulator(server string) (*exec.Cmd, string, error) {
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(server, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Env = slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, "MOTO_ACCOUNT_ID=") })
		if err := cmd.Start(); err != nil {
			return nil, "", err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := waitReady(endpoint, exited, 30*time.Second); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			continue
		}
		return cmd, endpoint, nil
	}
	return nil, "", errors.New("moto_server did not start on three ports")
}

// waitReady waits until the server answers, or gives up when it exits.
func waitReady(endpoint string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("moto_server at %s exited", endpoint)
		default:
		}
		if resp, err := http.Get(endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server at %s did not start within %s", endpoint, timeout)
}

// admin is the emulator's own view of the account, for the test to set up and inspect it: moto
// takes the account from this header.
func (e *emulator) admin() aws.Config {
	return aws.Config{Region: region, BaseEndpoint: aws.String(e.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		APIOptions:  []func(*middleware.Stack) error{smithyhttp.AddHeaderValue("x-moto-account-id", e.account)}}
}

// empty reports whether the account holds none of what a scenario creates.
func (e *emulator) empty() bool {
	c := e.admin()
	ctx := context.Background()
	_, ssmErr := ssm.NewFromConfig(c).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(bootstrapVersionParameter)})
	_, iamErr := iam.NewFromConfig(c).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(config.CrossAccountRoleName)})
	stacksOut, cfnErr := cloudformation.NewFromConfig(c).ListStacks(ctx, &cloudformation.ListStacksInput{})
	return isNotFound(ssmErr) && isNotFound(iamErr) && cfnErr == nil && len(stacksOut.StackSummaries) == 0
}

// accessKey creates a user and an access key in the account: requests signed with the key are
// that account's, as they would be in AWS.
func (e *emulator) accessKey(t *testing.T) *iamtypes.AccessKey {
	t.Helper()
	client := iam.NewFromConfig(e.admin())
	_, err := client.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("deployer")})
	created(t, err)
	out, err := client.CreateAccessKey(context.Background(), &iam.CreateAccessKeyInput{UserName: aws.String("deployer")})
	require.NoError(t, err)
	return out.AccessKey
}

// reset empties the emulator and gives each profile an access key of its account (a scenario
// may sign the prod profile in to another account).
func reset(t *testing.T, profiles map[string]string) {
	t.Helper()
	endpoint := emulators[devAccount].endpoint
	requireLoopback(t, endpoint)
	// A reset that has not taken yet would hand this scenario the last one's state, so reset
	// until every account is seen empty.
	clean := false
	for attempt := 0; attempt < 5 && !clean; attempt++ {
		resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		clean = emulators[devAccount].empty() && emulators[prodAccount].empty()
		if !clean {
			time.Sleep(200 * time.Millisecond)
		}
	}
	require.True(t, clean, "moto_server still holds the last scenario's state after a reset")
	keys := map[string]*iamtypes.AccessKey{}
	for account, e := range emulators {
		keys[account] = e.accessKey(t)
	}
	var cfg strings.Builder
	for profile, account := range profiles {
		fmt.Fprintf(&cfg, "[profile %s]\nregion = %s\nendpoint_url = %s\naws_access_key_id = %s\naws_secret_access_key = %s\n\n",
			profile, region, endpoint, aws.ToString(keys[account].AccessKeyId), aws.ToString(keys[account].SecretAccessKey))
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte(cfg.String()), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), nil, 0o600))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_ENDPOINT_URL", "DEV_PROFILE", "PROD_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func requireLoopback(t *testing.T, endpoint string) {
	t.Helper()
	u, err := url.Parse(endpoint)
	require.NoError(t, err)
	ip := net.ParseIP(u.Hostname())
	require.True(t, ip != nil && ip.IsLoopback(), "refusing to test against %s: only a loopback emulator may be used", endpoint)
}

// loopbackAccounts loads profiles as the command does, and fails the test unless the result
// talks to a loopback endpoint.
type loopbackAccounts struct{ t *testing.T }

func (a loopbackAccounts) Config(ctx context.Context, profile string) (aws.Config, error) {
	c, err := sdkAccounts{region: region}.Config(ctx, profile)
	if err == nil {
		if c.BaseEndpoint == nil {
			a.t.Fatalf("profile %s has no endpoint_url: refusing to call AWS", profile)
		}
		requireLoopback(a.t, *c.BaseEndpoint)
		// moto's server may close a kept-alive connection under a response, and the SDK then
		// sends the request again: a create would then fail with "already exists".
		c.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.DisableKeepAlives = true })
	}
	return c, err
}

// created accepts a create's error when it only says the thing exists: a retried create after a
// response was lost (the emulator was just seen empty, so nothing else made it).
func created(t *testing.T, err error) {
	t.Helper()
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) && strings.Contains(coded.ErrorCode(), "AlreadyExists") {
		return
	}
	require.NoError(t, err)
}

func configOf(t *testing.T, values map[string]any) config.Config {
	t.Helper()
	v := map[string]any{config.DevAccountKey: devAccount, config.ProdAccountKey: prodAccount, config.RegionKey: region, config.BranchKey: "main"}
	for k, x := range values {
		v[k] = x
	}
	cfg, err := config.NewConfig(v)
	require.NoError(t, err)
	return cfg
}

func clientCfg(t *testing.T, profile string) aws.Config {
	c, err := loopbackAccounts{t}.Config(context.Background(), profile)
	require.NoError(t, err)
	return c
}

// ready sets up both accounts as the README's steps leave them: dev bootstrapped with the
// pipeline deployed, prod with its roles stack carrying the key.
type setup struct {
	bootstrapVersion string // "" for none
	pipeline         bool
	rolesStack       bool
	rolesKey         string
	trustedAccount   string
	checkTrusted     bool // the trust statement of Check_Roles' read-only session
	deploymentRole   bool
	leftoverBucket   bool
	leftoverLogGroup string // the name of a log group an earlier install left, if any
	// recreatedRole puts an ID where the key and bucket policies name the prod deployment role,
	// as KMS and S3 show a role that was deleted and recreated.
	recreatedRole bool
}

func readySetup() setup {
	return setup{bootstrapVersion: "21", pipeline: true, rolesStack: true, rolesKey: keyArn, trustedAccount: devAccount, checkTrusted: true, deploymentRole: true}
}

// apply creates the setup in the emulators and returns the artifact key's ARN ("" without a
// pipeline).
func (s setup) apply(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dev, prod := clientCfg(t, "dev"), clientCfg(t, "prod")
	key := ""
	if s.bootstrapVersion != "" {
		_, err := ssm.NewFromConfig(dev).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(bootstrapVersionParameter),
			Value: aws.String(s.bootstrapVersion), Type: "String", Overwrite: aws.Bool(true)})
		require.NoError(t, err)
	}
	if s.pipeline {
		key = s.createPipeline(t, dev)
	}
	if s.rolesKey == keyArn {
		s.rolesKey = key
	}
	_, err := codecommit.NewFromConfig(dev).CreateRepository(ctx, &codecommit.CreateRepositoryInput{RepositoryName: aws.String("repo-" + devAccount)})
	if err != nil && strings.Contains(err.Error(), "deserialization failed") {
		err = nil // moto answers creationDate as text, where AWS sends epoch seconds; the repository exists
	}
	created(t, err)
	if s.rolesStack {
		createStack(t, prod, config.RolesStackID([]config.Environment{{Name: "prod"}}), map[string]any{
			"Parameters": map[string]any{config.ArtifactKeyArnParameter: map[string]any{"Type": "String", "Default": ""}}},
			[]cfntypes.Parameter{{ParameterKey: aws.String(config.ArtifactKeyArnParameter), ParameterValue: aws.String(s.rolesKey)}})
		statement := func(role, extra string) string {
			return fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole",`+
				`"Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::%s:role/%s"}%s}}`, s.trustedAccount, s.trustedAccount, role, extra)
		}
		statements := []string{statement(config.PipelineRoleName, "")}
		if s.checkTrusted {
			statements = append(statements, statement(config.RolesCheckRoleName, `,"StringEquals":{"sts:RoleSessionName":"roles-check"}`))
		}
		trust := `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
		createRole(t, prod, config.CrossAccountRoleName, trust)
		if s.deploymentRole {
			createRole(t, prod, config.DeploymentRoleName,
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
		}
	}
	if s.leftoverBucket {
		_, err := s3.NewFromConfig(dev, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{
			Bucket: aws.String(config.ArtifactBucketName(devAccount))})
		created(t, err)
	}
	if s.leftoverLogGroup != "" {
		_, err := cloudwatchlogs.NewFromConfig(prod).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(s.leftoverLogGroup)})
		created(t, err)
	}
	return key
}

// createPipeline creates the pipeline stack, the artifact key and bucket, with policies that name
// the prod roles the way the pipeline stack's do, and returns the key's ARN.
func (s setup) createPipeline(t *testing.T, dev aws.Config) string {
	t.Helper()
	deployment := "arn:aws:iam::" + prodAccount + ":role/" + config.DeploymentRoleName
	if s.recreatedRole {
		deployment = "AROAEXAMPLEOLDROLEID1"
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"kms:*","Resource":"*"},`+
		`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::%s:role/%s","%s"]},"Action":"kms:Decrypt","Resource":"*"}]}`,
		devAccount, prodAccount, config.CrossAccountRoleName, deployment)
	key, err := kms.NewFromConfig(dev).CreateKey(context.Background(), &kms.CreateKeyInput{Policy: aws.String(policy)})
	require.NoError(t, err)
	arn := aws.ToString(key.KeyMetadata.Arn)
	createStack(t, dev, config.PipelineStackID, map[string]any{
		"Outputs": map[string]any{config.ArtifactKeyArnOutput: map[string]any{"Value": arn}}}, nil)
	bucket := config.ArtifactBucketName(devAccount)
	client := s3.NewFromConfig(dev, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	created(t, err)
	_, err = client.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(fmt.Sprintf(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::%s:role/%s","%s"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`,
		prodAccount, config.CrossAccountRoleName, deployment, bucket))})
	require.NoError(t, err)
	return arn
}

func createStack(t *testing.T, c aws.Config, name string, extra map[string]any, params []cfntypes.Parameter) {
	t.Helper()
	tmpl := map[string]any{"Resources": map[string]any{"Marker": map[string]any{"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
	for k, v := range extra {
		tmpl[k] = v
	}
	body, _ := json.Marshal(tmpl)
	_, err := cloudformation.NewFromConfig(c).CreateStack(context.Background(), &cloudformation.CreateStackInput{
		StackName: aws.String(name), TemplateBody: aws.String(string(body)), Parameters: params})
	created(t, err)
}

func createRole(t *testing.T, c aws.Config, name, trust string) {
	t.Helper()
	_, err := iam.NewFromConfig(c).CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	created(t, err)
}

// failing returns the checks that found a problem, as "check: message | fix".
func failing(r Report) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Message+" | "+c.Fix)
		}
	}
	return out
}

func TestPreflightReadySetup(t *testing.T) {
	reset(t, map[string]string{"dev": devAccount, "prod": prodAccount})
	readySetup().apply(t)
	r, err := Preflight(context.Background(), configOf(t, nil), loopbackAccounts{t}, Options{})
	require.NoError(t, err)
	assert.True(t, r.Ready, "problems: %v", failing(r))
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
	}
	for _, want := range []string{"credentials", "bootstrap", "pipeline", "repository", "roles"} {
		assert.Contains(t, names, want, "the ready report shows the %s check passed", want)
	}

	// The command: exit 0, and the same report as JSON for machines.
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(append([]string{"preflight", "-json"}, pairFlags...), &out, &errOut), errOut.String())
	var decoded Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &decoded))
	assert.True(t, decoded.Ready)
	assert.Equal(t, len(r.Checks), len(decoded.Checks))
}

func TestPreflightFindsEachSetupMistake(t *testing.T) {
	for _, c := range []struct {
		name     string
		profiles map[string]string // profile -> the account its endpoint emulates
		setup    func(*setup)
		config   map[string]any
		want     []string // substrings of the failing checks, message and fix
	}{
		{
			name:     "a mistyped prod account",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			config:   map[string]any{config.ProdAccountKey: "222222222223"},
			want:     []string{"credentials: profile prod signs in to account 222222222222, not 222222222223 | set PROD_PROFILE to a profile of account 222222222223"},
		},
		{
			name:     "a profile of the wrong account",
			profiles: map[string]string{"dev": devAccount, "prod": devAccount},
			want:     []string{"credentials: profile prod signs in to account 111111111111, not 222222222222"},
		},
		{
			name:     "a profile that does not exist",
			profiles: map[string]string{"dev": devAccount},
			want:     []string{"credentials: profile prod cannot be loaded", "aws configure --profile prod"},
		},
		{
			name:     "an unbootstrapped pipeline account",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.bootstrapVersion = "" },
			want:     []string{"bootstrap: account 111111111111 is not CDK-bootstrapped in us-east-1", "| make bootstrap DEV_ACCOUNT=111111111111 PROD_ACCOUNT=222222222222 REGION=us-east-1"},
		},
		{
			name:     "a bootstrap too old",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.bootstrapVersion = "5" },
			want:     []string{"bootstrap: bootstrap version 5 is older than 6"},
		},
		{
			name:     "the key ARN step skipped",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.rolesKey = "" },
			want: []string{"roles: ProdAccountRolesStack has ArtifactKeyArn empty, not the pipeline's key " + keyArn,
				"| make deploy-prod-roles DEV_ACCOUNT=111111111111 PROD_ACCOUNT=222222222222 REGION=us-east-1 KEY_ARN=" + keyArn},
		},
		{
			name:     "roles deployed for another dev account",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.trustedAccount = "999999999999" },
			want:     []string{"roles: CodePipelineCrossAccountRole trusts another pipeline account, not arn:aws:iam::111111111111:role/CrossAccountPipelineRole"},
		},
		{
			name:     "roles that predate Check_Roles",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.checkTrusted = false },
			want:     []string{"roles: CodePipelineCrossAccountRole does not trust arn:aws:iam::111111111111:role/CrossAccountPipelineRolesCheck yet"},
		},
		{
			name:     "no roles stack once the pipeline exists",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.rolesStack = false },
			want:     []string{"roles: ProdAccountRolesStack does not exist, so the pipeline cannot deploy to account 222222222222 | make deploy-prod-roles"},
		},
		{
			name:     "a roles stack without its deployment role",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.deploymentRole = false },
			want:     []string{"roles: ProdAccountRolesStack has no role CloudFormationDeploymentRole for prod"},
		},
		{
			name:     "a prod role deleted and recreated",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup:    func(s *setup) { s.recreatedRole = true },
			want: []string{"principals: AROAEXAMPLEOLDROLEID1 in the key policy, AROAEXAMPLEOLDROLEID1 in the bucket policy: a role these policies name was deleted and recreated",
				"replace the ID by the recreated role's ARN (arn:aws:iam::222222222222:role/CloudFormationDeploymentRole)", "aws kms put-key-policy --key-id " + keyArn},
		},
		{
			name:     "leftovers of an earlier install",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			setup: func(s *setup) {
				s.pipeline, s.leftoverBucket, s.leftoverLogGroup = false, true, "/aws/lambda/HelloLambda-prod"
			},
			want: []string{
				"leftovers: bucket artifact-bucket-111111111111 is left from an earlier install and would block CrossAccountPipelineStack's create | make purge",
				"leftovers: log-group /aws/lambda/HelloLambda-prod is left from an earlier install and would block ProdApplicationDeploymentStack's create | make purge",
			},
		},
		{
			// The names follow app-name: the same leftover under the sample's name is no
			// longer in the way, the renamed application's is.
			name:     "leftovers of an earlier install of an application of one's own",
			profiles: map[string]string{"dev": devAccount, "prod": prodAccount},
			config:   map[string]any{config.AppNameKey: "orders-api"},
			setup: func(s *setup) {
				s.pipeline, s.leftoverLogGroup = false, "/aws/lambda/orders-api-prod"
			},
			want: []string{
				"leftovers: log-group /aws/lambda/orders-api-prod is left from an earlier install and would block ProdApplicationDeploymentStack's create | make purge",
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			reset(t, c.profiles)
			s := readySetup()
			if c.setup != nil {
				c.setup(&s)
			}
			key := ""
			if _, ok := c.profiles["prod"]; ok && c.profiles["prod"] == prodAccount {
				key = s.apply(t)
			} else {
				prodless := s
				prodless.rolesStack, prodless.leftoverLogGroup = false, ""
				prodless.applyDevOnly(t)
			}
			r, err := Preflight(context.Background(), configOf(t, c.config), loopbackAccounts{t}, Options{})
			require.NoError(t, err)
			assert.False(t, r.Ready)
			problems := strings.Join(failing(r), "\n")
			for _, want := range c.want {
				assert.Contains(t, problems, strings.ReplaceAll(want, keyArn, key))
			}
		})
	}
}

// A stack that holds no resources does not own the leftover in its way: ProdApplicationDeploymentStack
// in REVIEW_IN_PROGRESS (a change set created, never executed; ROLLBACK_COMPLETE after a failed
// first create is the same to the check) leaves the retained log group reported, with its fix.
func TestPreflightLeftoverBehindAStackWithoutResources(t *testing.T) {
	reset(t, map[string]string{"dev": devAccount, "prod": prodAccount})
	s := readySetup()
	s.pipeline, s.leftoverLogGroup = false, "/aws/lambda/HelloLambda-prod"
	s.apply(t)
	stack := configOf(t, nil).Environments[1].DeploymentStackName()
	body, _ := json.Marshal(map[string]any{"Resources": map[string]any{"Marker": map[string]any{"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
	cfn := cloudformation.NewFromConfig(clientCfg(t, "prod"))
	_, err := cfn.CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{StackName: aws.String(stack),
		ChangeSetName: aws.String("first"), ChangeSetType: cfntypes.ChangeSetTypeCreate, TemplateBody: aws.String(string(body))})
	require.NoError(t, err)
	described, err := describeStack(context.Background(), clientCfg(t, "prod"), stack)
	require.NoError(t, err)
	require.NotNil(t, described, "the change set created the stack")
	require.Equal(t, cfntypes.StackStatusReviewInProgress, described.StackStatus)

	r, err := Preflight(context.Background(), configOf(t, nil), loopbackAccounts{t}, Options{})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(failing(r), "\n"),
		"leftovers: log-group /aws/lambda/HelloLambda-prod is left from an earlier install and would block "+stack+"'s create | make purge")
}

// applyDevOnly sets up the dev account alone, for scenarios whose prod profile is broken.
func (s setup) applyDevOnly(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	dev := clientCfg(t, "dev")
	_, err := ssm.NewFromConfig(dev).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(bootstrapVersionParameter), Value: aws.String("21"), Type: "String", Overwrite: aws.Bool(true)})
	require.NoError(t, err)
	s.createPipeline(t, dev)
}

func TestPreflightExitCodeAndText(t *testing.T) {
	reset(t, map[string]string{"dev": devAccount, "prod": prodAccount})
	s := readySetup()
	s.bootstrapVersion = ""
	s.apply(t)
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(append([]string{"preflight"}, pairFlags...), &out, &errOut), "a problem exits 1")
	text := out.String()
	assert.Contains(t, text, "FAIL bootstrap")
	assert.Contains(t, text, "     fix: make bootstrap ")
	assert.Contains(t, text, "not ready: 1 problem(s) above")
	assert.Equal(t, 2, run(append([]string{"preflight"}, append(pairFlags, "-c", "region=mars-1")...), &out, &errOut), "a bad configuration exits 2")
	assert.Contains(t, errOut.String(), "region")
}

// Through make, as the README documents it: `make preflight PREFLIGHT_FLAGS=-json` prints the
// JSON report and nothing else on stdout, even without make's -s, and make exits 0 when ready
// and 2 when a check fails.
func TestPreflightThroughMake(t *testing.T) {
	reset(t, map[string]string{"dev": devAccount, "prod": prodAccount})
	s := readySetup()
	s.apply(t)
	root, err := config.ModuleRoot()
	require.NoError(t, err)
	viaMake := func() (int, Report, string) {
		cmd := exec.Command("make", "preflight", "PREFLIGHT_FLAGS=-json",
			"DEV_ACCOUNT="+devAccount, "PROD_ACCOUNT="+prodAccount, "REGION="+region)
		cmd.Dir = root
		cmd.Env = makeEnv(t, root)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		code := 0
		if err := cmd.Run(); err != nil {
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, stderr.String())
			code = exit.ExitCode()
		}
		var r Report
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), "stdout must be the JSON report alone:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		return code, r, stderr.String()
	}
	code, r, stderr := viaMake()
	assert.Equal(t, 0, code, stderr)
	assert.True(t, r.Ready, "problems: %v", failing(r))

	_, err = ssm.NewFromConfig(clientCfg(t, "dev")).DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(bootstrapVersionParameter)})
	require.NoError(t, err)
	code, r, _ = viaMake()
	assert.Equal(t, 2, code, "make turns the tool's 1 into its own 2")
	assert.False(t, r.Ready)
	assert.Contains(t, strings.Join(failing(r), "\n"), "bootstrap")
}

// makeEnv is this process's environment without what would change the make run under test: the
// flags and job slots of a make running these tests, and every setting the Makefile reads from
// the environment (its `?=` variables, profiles). CDK_Synth runs make test with the deployed
// settings in its environment (ENVIRONMENTS, APP_NAME, ...), which must not reach a preflight
// that is meant to see only the emulator's two accounts.
func makeEnv(t *testing.T, root string) []string {
	t.Helper()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	settings := map[string]bool{"MAKEFLAGS": true, "MFLAGS": true, "MAKELEVEL": true}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)\s*\?=`).FindAllStringSubmatch(string(makefile), -1) {
		settings[m[1]] = true
	}
	require.True(t, settings["ENVIRONMENTS"] && settings["APP_NAME"], "the Makefile's settings are no longer read here")
	return slices.DeleteFunc(os.Environ(), func(v string) bool {
		name, _, _ := strings.Cut(v, "=")
		return settings[name] || strings.HasSuffix(name, "_PROFILE")
	})
}

// MinBootstrapVersion follows the rule the pipeline stack's template carries: it rejects
// exactly the versions below it.
func TestMinBootstrapVersionMatchesTheTemplate(t *testing.T) {
	data, err := os.ReadFile("../../stacks/testdata/" + config.PipelineStackID + ".template.json")
	require.NoError(t, err)
	var tmpl struct {
		Rules struct {
			CheckBootstrapVersion struct {
				Assertions []struct {
					Assert struct {
						Not []struct {
							Contains []any `json:"Fn::Contains"`
						} `json:"Fn::Not"`
					}
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &tmpl))
	require.Len(t, tmpl.Rules.CheckBootstrapVersion.Assertions, 1)
	rejected := tmpl.Rules.CheckBootstrapVersion.Assertions[0].Assert.Not[0].Contains[0]
	var want []any
	for v := 1; v < MinBootstrapVersion; v++ {
		want = append(want, fmt.Sprint(v))
	}
	assert.Equal(t, want, rejected)
}

// Before a deploy target, the preflight checks the accounts that target touches and does not
// stop it for what it is about to fix; it still stops it for what it cannot.
func TestPreflightBeforeATarget(t *testing.T) {
	// A newcomer's first run: nothing deployed, not bootstrapped, and the prod profile signs
	// in to the wrong account.
	reset(t, map[string]string{"dev": devAccount, "prod": devAccount})
	cfg := configOf(t, nil)
	check := func(opts Options) Report {
		r, err := Preflight(context.Background(), cfg, loopbackAccounts{t}, opts)
		require.NoError(t, err)
		return r
	}
	r := check(Options{Before: "bootstrap"})
	assert.True(t, r.Ready, "bootstrap needs only the pipeline account, and bootstraps it: %v", failing(r))
	r = check(Options{Before: "deploy-pipeline"})
	assert.Contains(t, strings.Join(failing(r), "\n"), "bootstrap: account 111111111111 is not CDK-bootstrapped", "the pipeline cannot deploy before the bootstrap")
	r = check(Options{Before: "deploy-roles", Env: "prod"})
	assert.Contains(t, strings.Join(failing(r), "\n"), "credentials: profile prod signs in to account 111111111111", "deploy-roles checks the account it deploys to")
	assert.NotContains(t, strings.Join(failing(r), "\n"), "bootstrap", "and not the pipeline's")
	r = check(Options{Before: "deploy-roles", Env: "prod", Profile: "dev"})
	assert.Contains(t, strings.Join(failing(r), "\n"), "credentials: profile dev signs in to account 111111111111, not 222222222222",
		"PROFILE= replaces the environment's profile")
	r = check(Options{Before: "deploy"})
	assert.False(t, r.Ready, "a wrong profile stops make deploy before it deploys anything")
	assert.NotContains(t, strings.Join(failing(r), "\n"), "bootstrap:", "make deploy bootstraps by itself")

	_, err := Preflight(context.Background(), cfg, loopbackAccounts{t}, Options{Before: "deploy-everything"})
	assert.ErrorContains(t, err, "not a deploy target")
	_, err = Preflight(context.Background(), cfg, loopbackAccounts{t}, Options{Before: "deploy-roles", Env: "qa"})
	assert.ErrorContains(t, err, `-env "qa": no environment has that name`)
}

// Whoever deploys the pipeline may hold no credentials for the other accounts: deploy-pipeline
// then checks what it can and says what it could not.
func TestPreflightBeforeDeployPipelineWithoutProdCredentials(t *testing.T) {
	reset(t, map[string]string{"dev": devAccount})
	readySetup().applyDevOnly(t)
	r, err := Preflight(context.Background(), configOf(t, nil), loopbackAccounts{t}, Options{Before: "deploy-pipeline"})
	require.NoError(t, err)
	assert.True(t, r.Ready, "problems: %v", failing(r))
	var notes []string
	for _, c := range r.Checks {
		notes = append(notes, c.Message)
	}
	assert.Contains(t, strings.Join(notes, "\n"), "not checked: profile prod")
	r, err = Preflight(context.Background(), configOf(t, nil), loopbackAccounts{t}, Options{})
	require.NoError(t, err)
	assert.False(t, r.Ready, "the full preflight needs every account")
}
