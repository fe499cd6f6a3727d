package mhc

// docs/bindings_go.md shows cmd/quickstart/main.go verbatim, after the marker line
// "<!-- example: bindings/go/cmd/quickstart/main.go -->". This test keeps the two equal;
// run_test.sh builds and runs the example, so the page's code is compiled and run.

import (
	"os"
	"strings"
	"testing"
)

func TestTheDocPageShowsTheQuickstartExample(t *testing.T) {
	page, err := os.ReadFile("../../docs/bindings_go.md")
	if err != nil {
		t.Fatal(err)
	}
	source, err := os.ReadFile("cmd/quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- example: bindings/go/cmd/quickstart/main.go -->"
	parts := strings.SplitN(string(page), marker, 2)
	if len(parts) != 2 {
		t.Fatalf("docs/bindings_go.md has no line %s", marker)
	}
	rest := strings.TrimLeft(parts[1], "\n")
	if !strings.HasPrefix(rest, "```go\n") {
		t.Fatal("the marker must be followed by a ```go block")
	}
	rest = rest[len("```go\n"):]
	end := strings.Index(rest, "\n```\n")
	if end < 0 {
		t.Fatal("the ```go block after the marker is not closed")
	}
	if rest[:end+1] != string(source) {
		t.Fatal("the block after the marker in docs/bindings_go.md differs from cmd/quickstart/main.go: copy the file into the page")
	}
}
