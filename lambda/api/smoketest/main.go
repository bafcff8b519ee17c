// Command smoketest checks that a stage of the application answers as its contract says: a GET
// of smoke-test-path answers smoke-test-status with a body containing smoke-test-body (cdk.json;
// by default 200 and the sample handler's JSON naming the stage and the path). The pipeline runs
// it against the deployed API after each deployment (-url); `make rehearse` runs it against the
// built bootstrap under the Lambda Runtime Interface Emulator (-rie). One checker for both, so
// the rehearsal proves what the pipeline will check.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func main() {
	url := flag.String("url", "", "base URL of the deployed API (the stack output ApiEndpoint)")
	rie := flag.String("rie", "", "address of a Lambda Runtime Interface Emulator running the handler, e.g. http://127.0.0.1:9000")
	stage := flag.String("stage", "", "the stage the answer must name (dev, prod)")
	timeout := flag.Duration("timeout", 60*time.Second, "how long to keep retrying while the endpoint warms up")
	var contextArgs []string
	flag.Func("c", "context key=value, as for cdk synth (repeatable): the smoke-test-* settings", func(kv string) error {
		contextArgs = append(contextArgs, "-c", kv)
		return nil
	})
	flag.Parse()

	contract, err := config.LoadSmokeTest(contextArgs)
	if err == nil {
		err = run(*url, *rie, contract.For(*stage), *stage, *timeout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke test FAILED:", err)
		os.Exit(1)
	}
}

// run checks one stage against its contract (the settings with the stage filled in).
func run(url, rie string, contract config.SmokeTest, stage string, timeout time.Duration) error {
	if stage == "" || (url == "") == (rie == "") {
		return errors.New("usage: smoketest -stage NAME (-url API_URL | -rie RIE_ADDRESS) [-c smoke-test-path=/health ...]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	check := func(ctx context.Context) error { return checkAPI(ctx, http.DefaultClient, url, contract) }
	target := url
	if rie != "" {
		check = func(ctx context.Context) error { return checkRIE(ctx, http.DefaultClient, rie, stage, contract) }
		target = rie
	}
	if err := retry(ctx, 2*time.Second, check); err != nil {
		return fmt.Errorf("%s (stage %s): %w", target, stage, err)
	}
	fmt.Printf("smoke test passed: GET %s on %s answers %d with %q\n", contract.Path, target, contract.Status, contract.Body)
	return nil
}

// retry runs check until it passes or ctx ends: a new API Gateway deployment or a starting
// emulator can refuse the first requests. The last error is returned.
func retry(ctx context.Context, pause time.Duration, check func(context.Context) error) error {
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// checkAPI requests the contract's path from a deployed stage.
func checkAPI(ctx context.Context, client *http.Client, baseURL string, contract config.SmokeTest) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+contract.Path, nil)
	if err != nil {
		return err
	}
	status, body, err := send(client, req)
	if err != nil {
		return err
	}
	return checkAnswer(status, body, contract)
}

// checkRIE invokes the handler through the emulator with the event API Gateway would send.
func checkRIE(ctx context.Context, client *http.Client, rie, stage string, contract config.SmokeTest) error {
	event, err := json.Marshal(events.APIGatewayProxyRequest{
		HTTPMethod:     http.MethodGet,
		Path:           contract.Path,
		Resource:       "/{proxy+}",
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(contract.Path, "/")},
		RequestContext: events.APIGatewayProxyRequestContext{Stage: stage, HTTPMethod: http.MethodGet, Path: "/" + stage + contract.Path},
	})
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(rie, "/") + "/2015-03-31/functions/function/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event))
	if err != nil {
		return err
	}
	status, raw, err := send(client, req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("the emulator answered %d: %s", status, raw)
	}
	var proxy events.APIGatewayProxyResponse
	if err := json.Unmarshal(raw, &proxy); err != nil || proxy.StatusCode == 0 {
		return fmt.Errorf("the handler did not return an API Gateway proxy response: %s", raw)
	}
	return checkAnswer(proxy.StatusCode, []byte(proxy.Body), contract)
}

// send makes a request and reads at most 1 MiB of the answer.
func send(client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// checkAnswer is the contract: the status, and the body text when there is one to look for.
func checkAnswer(status int, body []byte, contract config.SmokeTest) error {
	if status != contract.Status {
		return fmt.Errorf("want status %d, got %d: %s", contract.Status, status, body)
	}
	if !bytes.Contains(body, []byte(contract.Body)) {
		return fmt.Errorf("want a body containing %q, got: %s", contract.Body, body)
	}
	return nil
}
