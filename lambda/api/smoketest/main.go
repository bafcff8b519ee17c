// Command smoketest checks that a stage of the Hello API answers as it should: HTTP 200 and a
// JSON greeting that names the stage. The pipeline runs it against the deployed API after each
// deployment (-url); `make rehearse` runs it against the built bootstrap under the Lambda
// Runtime Interface Emulator (-rie). One checker for both, so the rehearsal proves what the
// pipeline will check.
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
)

// smokePath is the path the check requests; the handler echoes it, which proves the request
// went through the proxy integration rather than hitting a cached or default answer.
const smokePath = "/smoke-test"

func main() {
	url := flag.String("url", "", "base URL of the deployed API (the stack output ApiEndpoint)")
	rie := flag.String("rie", "", "address of a Lambda Runtime Interface Emulator running the handler, e.g. http://127.0.0.1:9000")
	stage := flag.String("stage", "", "the stage the answer must name (dev, prod)")
	timeout := flag.Duration("timeout", 60*time.Second, "how long to keep retrying while the endpoint warms up")
	flag.Parse()

	if err := run(*url, *rie, *stage, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "smoke test FAILED:", err)
		os.Exit(1)
	}
}

func run(url, rie, stage string, timeout time.Duration) error {
	if stage == "" || (url == "") == (rie == "") {
		return errors.New("usage: smoketest -stage NAME (-url API_URL | -rie RIE_ADDRESS)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	check := func(ctx context.Context) error { return checkAPI(ctx, http.DefaultClient, url, stage) }
	target := url
	if rie != "" {
		check = func(ctx context.Context) error { return checkRIE(ctx, http.DefaultClient, rie, stage) }
		target = rie
	}
	if err := retry(ctx, 2*time.Second, check); err != nil {
		return fmt.Errorf("%s (stage %s): %w", target, stage, err)
	}
	fmt.Printf("smoke test passed: %s answers 200 with a greeting from stage %s\n", target, stage)
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

// checkAPI requests the smoke path from a deployed stage.
func checkAPI(ctx context.Context, client *http.Client, baseURL, stage string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+smokePath, nil)
	if err != nil {
		return err
	}
	status, body, err := send(client, req)
	if err != nil {
		return err
	}
	return checkGreeting(status, body, stage)
}

// checkRIE invokes the handler through the emulator with the event API Gateway would send.
func checkRIE(ctx context.Context, client *http.Client, rie, stage string) error {
	event, err := json.Marshal(events.APIGatewayProxyRequest{
		HTTPMethod:     http.MethodGet,
		Path:           smokePath,
		Resource:       "/{proxy+}",
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(smokePath, "/")},
		RequestContext: events.APIGatewayProxyRequestContext{Stage: stage, HTTPMethod: http.MethodGet, Path: "/" + stage + smokePath},
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
	return checkGreeting(proxy.StatusCode, []byte(proxy.Body), stage)
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

// checkGreeting is the contract: 200, JSON, the stage and the requested path.
func checkGreeting(status int, body []byte, stage string) error {
	if status != http.StatusOK {
		return fmt.Errorf("want status 200, got %d: %s", status, body)
	}
	var got struct {
		Message string `json:"message"`
		Stage   string `json:"stage"`
		Path    string `json:"path"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return fmt.Errorf("body is not JSON (%v): %s", err, body)
	}
	if got.Stage != stage {
		return fmt.Errorf("want a greeting from stage %q, got stage %q: %s", stage, got.Stage, body)
	}
	if got.Path != smokePath || !strings.Contains(got.Message, stage) {
		return fmt.Errorf("want message naming %q and path %q: %s", stage, smokePath, body)
	}
	return nil
}
