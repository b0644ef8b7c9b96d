module github.com/octavus-go/octavus

go 1.24

require (
	github.com/stretchr/testify v1.12.1
	github.com/tmaxmax/go-sse v0.11.0
)

require (
	go.uber.org/goleak v1.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
