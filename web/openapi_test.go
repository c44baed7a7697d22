package web

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// registeredPatterns reads every ServeMux pattern this package registers:
// the string literal passed to a .Handle or .HandleFunc call in its non-test
// files. Reading the source finds every route group, whoever wrote it,
// without a registry each of them must remember to use; the runtime check in
// TestOpenAPICoversRoutes proves each one is really served.
func registeredPatterns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: route pattern is not a string literal", fset.Position(call.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			out = append(out, p)
			return true
		})
	}
	slices.Sort(out)
	return out
}

type openAPIDocument struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func TestOpenAPICoversRoutes(t *testing.T) {
	a := newTestApp(t)
	res := a.do("GET", "/api/openapi.json", "", nil, "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/openapi.json: %d %s", res.StatusCode, res.Header)
	}
	var doc openAPIDocument
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	checkRefs(t, res.body)

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	var undocumented []string
	registered := map[string]bool{}
	for _, p := range registeredPatterns(t) {
		_, path, ok := strings.Cut(p, " ")
		if !ok {
			if p != "/api/" { // the catch-all 404 for unknown API routes
				t.Errorf("pattern %q has no method", p)
			}
			continue
		}
		if !strings.HasPrefix(path, "/api/") && path != "/healthz" {
			continue // pages, static files, metrics, shared views
		}
		registered[p] = true
		if !documented[p] {
			undocumented = append(undocumented, p)
		}
	}
	if len(undocumented) > 0 {
		t.Errorf("registered but not in web/openapi.json:\n\t%s", strings.Join(undocumented, "\n\t"))
	}

	var unregistered []string
	for op := range documented {
		if !registered[op] {
			unregistered = append(unregistered, op)
		}
	}
	slices.Sort(unregistered)
	if len(unregistered) > 0 {
		t.Errorf("documented in web/openapi.json but not registered in the router:\n\t%s", strings.Join(unregistered, "\n\t"))
	}

	// Every documented route answers: neither the mux's 405 nor the
	// catch-all "no such API route".
	ops := make([]string, 0, len(documented))
	for op := range documented {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			method, path, _ := strings.Cut(op, " ")
			bin := a.newBin() // fresh: some routes delete
			reqID := a.sendCapture(bin.ID, "POST", "/x", nil, "{}")
			var share struct{ ID string }
			sres := a.do("POST", "/api/bins/"+bin.ID+"/shares", bin.Token, nil, "")
			json.Unmarshal(sres.body, &share)
			path = strings.NewReplacer("{bin}", bin.ID, "{id}", reqID, "{share}", share.ID).Replace(path)
			if strings.HasSuffix(path, "/wait") {
				path += "?timeout=1ms"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var body *strings.Reader
			if method == "POST" || method == "PUT" {
				body = strings.NewReader("{}")
			} else {
				body = strings.NewReader("")
			}
			req, _ := http.NewRequestWithContext(ctx, method, a.ts.URL+path, body)
			req.Header.Set("Authorization", "Bearer "+bin.Token)
			res, err := a.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close() // streams (events) end here
			buf := make([]byte, 512)
			n, _ := res.Body.Read(buf)
			if res.StatusCode == http.StatusMethodNotAllowed || strings.Contains(string(buf[:n]), "no such API route") {
				t.Errorf("%s: %d %s", op, res.StatusCode, buf[:n])
			}
		})
	}
}

// checkRefs fails for a "$ref" that does not resolve inside the document.
func checkRefs(t *testing.T, raw []byte) {
	t.Helper()
	var root any
	json.Unmarshal(raw, &root)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					ref, _ := x.(string)
					if !resolves(root, ref) {
						t.Errorf("unresolved $ref %q", ref)
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(root)
}

func resolves(root any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	cur := root
	for part := range strings.SplitSeq(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
