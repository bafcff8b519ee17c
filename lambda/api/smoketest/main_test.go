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
)

func TestCheckGreeting(t *testing.T) {
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
		{"not JSON", 200, "<html>hello</html>", false},
		{"another stage", 200, `{"message":"Hello from the prod stage","stage":"prod","path":"/smoke-test"}`, false},
		{"another path", 200, `{"message":"Hello from the dev stage","stage":"dev","path":"/"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkGreeting(c.status, []byte(c.body), "dev")
			if c.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err, "the pipeline must stop on this answer")
			}
		})
	}
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
	assert.NoError(t, checkAPI(context.Background(), srv.Client(), srv.URL+"/dev/", "dev"))
	assert.Error(t, checkAPI(context.Background(), srv.Client(), srv.URL+"/prod/", "dev"))
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
	assert.NoError(t, checkRIE(context.Background(), srv.Client(), srv.URL, "prod"))
	assert.Error(t, checkRIE(context.Background(), srv.Client(), srv.URL, "dev"))
}

func TestCheckRIERejectsAFunctionError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"errorMessage":"boom","errorType":"Runtime.ExitError"}`)
	}))
	defer srv.Close()
	err := checkRIE(context.Background(), srv.Client(), srv.URL, "dev")
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
	assert.Error(t, run("", "", "dev", time.Second))
	assert.Error(t, run("http://a", "http://b", "dev", time.Second))
	assert.Error(t, run("http://a", "", "", time.Second))
}
