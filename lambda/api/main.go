// Command bootstrap is the application's Lambda handler for the provided.al2023 runtime.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(Handler{Stage: os.Getenv("STAGE_NAME")}.Handle)
}
