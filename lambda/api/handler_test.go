package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandleGreetsWithStage(t *testing.T) {
	for _, stage := range []string{"dev", "prod"} {
		t.Run(stage, func(t *testing.T) {
			resp, err := Handler{Stage: stage}.Handle(context.Background(), events.APIGatewayProxyRequest{Path: "/hello"})
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "application/json", resp.Headers["Content-Type"], "API Gateway passes this header to the client")

			var got Greeting
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &got), "body must be JSON: %s", resp.Body)
			assert.Equal(t, Greeting{Message: "Hello from the " + stage + " stage", Stage: stage, Path: "/hello"}, got)
		})
	}
}

func TestHandleWithoutStageIsAServerError(t *testing.T) {
	resp, err := Handler{}.Handle(context.Background(), events.APIGatewayProxyRequest{Path: "/"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode,
		"a function deployed without STAGE_NAME must fail the smoke test, not greet from an unknown stage")
	assert.JSONEq(t, `{"error":"STAGE_NAME is not set"}`, resp.Body)
}
