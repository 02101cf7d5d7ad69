package nn

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torchloss/torchloss/internal/losses"
)

// TestModulesCoverTable checks that every loss of the table has its module
// here: a type of the table's Module name and its constructor New<Module>.
func TestModulesCoverTable(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var decls []ast.Decl
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		decls = append(decls, f.Decls...)
	}
	decl := map[string]bool{}
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				decl[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok {
					decl[ts.Name.Name] = true
				}
			}
		}
	}
	for _, l := range losses.Table {
		if !decl[l.Module] || !decl["New"+l.Module] {
			t.Errorf("%s: no type %s or func New%s in package nn", l.Name, l.Module, l.Module)
		}
	}
}
