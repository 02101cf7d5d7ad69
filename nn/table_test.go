package nn

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/torchloss/torchloss/internal/losses"
)

// TestModulesCoverTable checks that every loss of the table has its module
// here: a type of the table's Module name and its constructor New<Module>.
func TestModulesCoverTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "nn.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	decl := map[string]bool{}
	for _, d := range f.Decls {
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
			t.Errorf("%s: no type %s or func New%s in nn.go", l.Name, l.Module, l.Module)
		}
	}
}
