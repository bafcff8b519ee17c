package main

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// Greeting is the JSON body the API returns. The pipeline's smoke test and the local rehearsal
// check Stage to prove the request reached the stage they deployed.
type Greeting struct {
	Message string `json:"message"`
	Stage   string `json:"stage"`
	Path    string `json:"path"`
}

// Handler answers API Gateway proxy requests for one stage.
type Handler struct {
	// Stage comes from STAGE_NAME, which the application stack sets per stage.
	Stage string
}

// Handle returns the greeting for any method and path.
func (h Handler) Handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	if h.Stage == "" {
		return jsonResponse(http.StatusInternalServerError, map[string]string{"error": "STAGE_NAME is not set"})
	}
	return jsonResponse(http.StatusOK, Greeting{
		Message: "Hello from the " + h.Stage + " stage",
		Stage:   h.Stage,
		Path:    req.Path,
	})
}

func jsonResponse(status int, body any) (events.APIGatewayProxyResponse, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(raw),
	}, nil
}
