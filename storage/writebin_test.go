package storage

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBinRowsChangeOnlyInWriteBin holds the write path's invariant: the
// writer keeps each bin's seq counter in memory between flushes and writes
// it out (flushAll) before every commit, so an UPDATE or DELETE of a bins
// row that does not run inside db.writeBin (which flushes that bin first
// and forgets the copy afterwards) is silently overwritten or resurrected.
// Every SQL text in this package that changes the bins table must sit in a
// function literal passed to writeBin; the writer's own counter flush is the
// one exception.
func TestBinRowsChangeOnlyInWriteBin(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "pg_capture.go" {
			// pg_capture.go is PostgreSQL's alone, where no writer keeps
			// counters in memory: the row is the only copy.
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			sqlText, err := strconv.Unquote(lit.Value)
			if err != nil || !changesBins(sqlText) {
				return true
			}
			found++
			if strings.HasPrefix(sqlText, "UPDATE bins SET seq = ?, served = ?") {
				return true // the counter flush itself (writerStmts.setSeq)
			}
			if !insideWriteBin(stack) {
				t.Errorf("%s: %q changes a bins row outside db.writeBin", fset.Position(lit.Pos()), sqlText)
			}
			return true
		})
	}
	if found < 3 {
		t.Fatalf("found %d statements that change bins: the scan is broken", found)
	}
}

// changesBins reports whether a SQL text updates or deletes bins rows.
func changesBins(q string) bool {
	q = strings.Join(strings.Fields(q), " ")
	return strings.Contains(q, "UPDATE bins ") || strings.Contains(q, "DELETE FROM bins")
}

// insideWriteBin reports whether the innermost function literal on stack is
// an argument of a call to writeBin.
func insideWriteBin(stack []ast.Node) bool {
	for i := len(stack) - 1; i > 0; i-- {
		if _, ok := stack[i].(*ast.FuncLit); !ok {
			continue
		}
		call, ok := stack[i-1].(*ast.CallExpr)
		if !ok {
			return false
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "writeBin"
	}
	return false
}
