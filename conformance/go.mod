module github.com/octavus-go/octavus/conformance

go 1.25

require github.com/octavus-go/octavus v0.0.0

require (
	github.com/google/jsonschema-go v0.4.3 // indirect
	github.com/google/uuid v1.6.0 // indirect
)

replace github.com/octavus-go/octavus => ../
