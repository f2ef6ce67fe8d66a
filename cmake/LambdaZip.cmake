# filled in with the Lambda packaging
