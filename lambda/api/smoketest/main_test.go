package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// dev is the default contract for the dev stage: what the pipeline checks unless cdk.json says
// otherwise.
var dev = config.DefaultSmokeTest.For("dev")

func TestCheckAnswerHoldsTheDefaultContract(t *testing.T) {
	good := `{"message":"Hello from the dev stage","stage":"dev","path":"/smoke-test"}`
	cases := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"the greeting of the right stage", 200, good, true},
		{"a server error", 500, good, false},
		{"a gateway error", 502, `{"message": "Internal server error"}`, false},
		{"something else", 200, "<html>hello</html>", false},
		{"another stage", 200, `{"message":"Hello from the prod stage","stage":"prod","path":"/smoke-test"}`, false},
		{"the stage only in the message", 200, `{"message":"Hello from the dev stage","stage":"prod"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkAnswer(c.status, []byte(c.body), dev)
			if c.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err, "the pipeline must stop on this answer")
			}
		})
	}
}

// A contract of one's own: another path, another status, a body checked only for its text.
func TestCheckAnswerHoldsAContractFromTheSettings(t *testing.T) {
	health := config.SmokeTest{Path: "/{env}/health", Status: 204, Body: ""}.For("qa")
	assert.Equal(t, "/qa/health", health.Path)
	assert.NoError(t, checkAnswer(204, nil, health), "an empty body setting checks the status alone")
	assert.Error(t, checkAnswer(200, nil, health))
	ready := config.SmokeTest{Path: "/ready", Status: 200, Body: "ready in {env} at {path}"}.For("qa")
	assert.NoError(t, checkAnswer(200, []byte("ready in qa at /ready"), ready))
	assert.Error(t, checkAnswer(200, []byte("ready in prod at /ready"), ready), "the body names the environment it came from")
}

func TestCheckAPIRequestsTheSmokePath(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dev/smoke-test" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"message":"Hello from the dev stage","stage":"dev","path":"/smoke-test"}`)
	}))
	defer srv.Close()
	// The stack output ends with a slash: https://id.execute-api.../dev/
	assert.NoError(t, checkAPI(context.Background(), srv.Client(), srv.URL+"/dev/", dev))
	assert.Error(t, checkAPI(context.Background(), srv.Client(), srv.URL+"/prod/", dev))
}

func TestCheckRIESendsAProxyEvent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/2015-03-31/functions/function/invocations", r.URL.Path)
		var ev events.APIGatewayProxyRequest
		require.NoError(t, json.NewDecoder(r.Body).Decode(&ev))
		body, _ := json.Marshal(map[string]string{"message": "Hello from the prod stage", "stage": "prod", "path": ev.Path})
		_ = json.NewEncoder(w).Encode(events.APIGatewayProxyResponse{StatusCode: 200, Body: string(body)})
	}))
	defer srv.Close()
	assert.NoError(t, checkRIE(context.Background(), srv.Client(), srv.URL, "prod", config.DefaultSmokeTest.For("prod")))
	assert.Error(t, checkRIE(context.Background(), srv.Client(), srv.URL, "dev", dev))
}

func TestCheckRIERejectsAFunctionError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"errorMessage":"boom","errorType":"Runtime.ExitError"}`)
	}))
	defer srv.Close()
	err := checkRIE(context.Background(), srv.Client(), srv.URL, "dev", dev)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "boom", "the failure shows what the function said")
}

func TestRetryStopsAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls := 0
	err := retry(ctx, 10*time.Millisecond, func(context.Context) error { calls++; return assert.AnError })
	assert.ErrorIs(t, err, assert.AnError)
	assert.Greater(t, calls, 1, "a warming endpoint gets more than one chance")

	calls = 0
	assert.NoError(t, retry(context.Background(), time.Millisecond, func(context.Context) error {
		calls++
		if calls < 3 {
			return assert.AnError
		}
		return nil
	}))
}

func TestRunNeedsExactlyOneTarget(t *testing.T) {
	assert.Error(t, run("", "", dev, "dev", time.Second))
	assert.Error(t, run("http://a", "http://b", dev, "dev", time.Second))
	assert.Error(t, run("http://a", "", dev, "", time.Second))
}
