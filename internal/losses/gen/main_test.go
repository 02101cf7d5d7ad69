package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate checks that the committed files equal the
// generator's output for the table (go generate ./internal/losses).
func TestGeneratedUpToDate(t *testing.T) {
	doc := filepath.Join("..", "..", "..", "functional", "doc.go")
	src, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DocList(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, want) {
		t.Errorf("%s: the list of losses differs from the table; run go generate ./internal/losses", doc)
	}
	funcs := filepath.Join("..", "..", "..", "conformance", "losses_gen.go")
	got, err := os.ReadFile(funcs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Funcs()) {
		t.Errorf("%s differs from the table; run go generate ./internal/losses", funcs)
	}
}

// TestDocListIdempotent checks that the list is found again in the
// generator's own output.
func TestDocListIdempotent(t *testing.T) {
	src := []byte("// Package p.\n//\n" + docHeader + "\n//\n// After.\npackage p\n")
	once, err := DocList(src)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := DocList(once)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(once, twice) {
		t.Errorf("second run changed the list:\n%s\n---\n%s", once, twice)
	}
	if !bytes.HasSuffix(once, []byte("//\n// After.\npackage p\n")) {
		t.Errorf("the text after the list is lost:\n%s", once)
	}
}
