package web

import (
	"testing"

	"github.com/tailhook-dev/tailhook/views"
)

// TestParamLabelsInWords: every provider parameter the forms offer has a
// label in words, not only its API name.
func TestParamLabelsInWords(t *testing.T) {
	for _, p := range providerViews() {
		for _, prm := range p.Params {
			if views.ParamLabel(prm.Name) == prm.Name {
				t.Errorf("%s: parameter %s has no label in words", p.ID, prm.Name)
			}
		}
	}
}
