package signature

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tvSpec covers the "timestamp + list of signatures in one header" family:
// Stripe, Mux and Calendly (t=…,v1=…) and Paddle (ts=…;h1=…).
type tvSpec struct {
	id, name, desc string
	header         string
	pairSep        string // between key=value pairs
	tsKey, sigKey  string
	msgSep         string // between timestamp and body in the signed message
	// strict rejects a pair that is not exactly key=value, as stripe-go does.
	strict bool
	// millis: the timestamp is unix milliseconds (WorkOS).
	millis      bool
	tol         tolerance
	fingerprint []string
}

// parseTV splits a t=…,v1=… style header. It returns the timestamp text and
// every signature under sigKey; unknown keys are ignored.
func parseTV(header, pairSep, tsKey, sigKey string, strict bool) (ts string, sigs []string, err error) {
	for _, pair := range strings.Split(header, pairSep) {
		pair = strings.TrimSpace(pair)
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(v, "=") {
			if strict {
				return "", nil, fmt.Errorf("%q is not a key=value pair", truncate(pair, 40))
			}
			if !ok {
				continue
			}
		}
		switch k {
		case tsKey:
			ts = v
		case sigKey:
			sigs = append(sigs, v)
		}
	}
	if ts == "" {
		return "", nil, fmt.Errorf("it has no %s= timestamp", tsKey)
	}
	if len(sigs) == 0 {
		return ts, nil, fmt.Errorf("it has no %s= signature", sigKey)
	}
	return ts, sigs, nil
}

// parseUnix reads a decimal unix-seconds timestamp.
func parseUnix(s string) (time.Time, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}, errors.New("not a unix timestamp")
	}
	return time.Unix(n, 0), nil
}

func (sp tvSpec) message(ts string, body []byte) []byte {
	return append([]byte(ts+sp.msgSep), body...)
}

func (sp tvSpec) scheme() *scheme {
	def := strconv.Itoa(int(sp.tol.d.Seconds()))
	return &scheme{
		Provider: Provider{ID: sp.id, Name: sp.name, Description: sp.desc, Params: []Param{
			secretParam("Signing secret, used exactly as shown; several secrets, one per line, during rotation."),
			toleranceParam(def),
		}},
		sigHeaders: append([]string{sp.header}, sp.fingerprint...),
		read:       sp.read,
		sign:       sp.sign,
	}
}

func (sp tvSpec) read(in Input, _ Params) (reading, error) {
	r := reading{header: sp.header, tol: sp.tol}
	v := in.Header.Get(sp.header)
	if v == "" {
		r.problem, r.sigMissing = "the request has no "+sp.header+" header.", true
		return r, nil
	}
	tsText, sigs, err := parseTV(v, sp.pairSep, sp.tsKey, sp.sigKey, sp.strict)
	if err != nil {
		r.problem = sp.header + " is malformed: " + err.Error() + "."
		return r, nil
	}
	ts, err := parseUnix(tsText)
	if sp.millis {
		var ms int64
		ms, err = strconv.ParseInt(strings.TrimSpace(tsText), 10, 64)
		if err == nil && ms < 0 {
			err = errors.New("negative")
		}
		ts = time.UnixMilli(ms)
	}
	if err != nil {
		r.problem = fmt.Sprintf("%s is malformed: %s=%q is not a unix timestamp.", sp.header, sp.tsKey, truncate(tsText, 40))
		return r, nil
	}
	r.ts = &ts
	remsg := func(b []byte) []byte { return sp.message(tsText, b) }
	msg := remsg(in.Body)
	for _, s := range sigs {
		r.cands = append(r.cands, candidate{prefix: sp.sigKey + "=", text: s, alg: hmacSHA256, enc: encHex, key: keyRaw, msg: msg, remsg: remsg})
	}
	return r, nil
}

func (sp tvSpec) sign(in Input, _ Params, secret string) (http.Header, []byte, error) {
	ts := strconv.FormatInt(in.Now.Unix(), 10)
	sep := sp.pairSep
	if sp.millis {
		ts = strconv.FormatInt(in.Now.UnixMilli(), 10)
		sep += " " // WorkOS writes "t=…, v1=…"
	}
	mac := compute(hmacSHA256, []byte(secret), sp.message(ts, in.Body))
	h := http.Header{}
	h.Set(sp.header, sp.tsKey+"="+ts+sep+sp.sigKey+"="+encHex.encode(mac))
	return h, nil, nil
}

func stripeScheme() *scheme {
	return tvSpec{
		id: "stripe", name: "Stripe",
		desc:   "The endpoint's Signing secret (whsec_…) in the Dashboard under Developers > Webhooks, used whole.",
		header: "Stripe-Signature", pairSep: ",", tsKey: "t", sigKey: "v1", msgSep: ".", strict: true,
		// stripe-go DefaultTolerance: 300 s, and it only rejects too-old timestamps.
		tol: tolerance{d: 300 * time.Second, past: true},
	}.scheme()
}

func muxScheme() *scheme {
	return tvSpec{
		id: "mux", name: "Mux",
		desc:   "The webhook's Signing Secret in the Mux dashboard under Settings > Webhooks.",
		header: "Mux-Signature", pairSep: ",", tsKey: "t", sigKey: "v1", msgSep: ".",
		// Mux SDK default: 300 s, too-old only.
		tol: tolerance{d: 300 * time.Second, past: true},
	}.scheme()
}

func calendlyScheme() *scheme {
	return tvSpec{
		id: "calendly", name: "Calendly",
		desc:   "The signing key given when the webhook subscription was created (or generated for your OAuth app).",
		header: "Calendly-Webhook-Signature", pairSep: ",", tsKey: "t", sigKey: "v1", msgSep: ".",
		// Calendly's example rejects timestamps older than 3 minutes.
		tol: tolerance{d: 180 * time.Second, past: true},
	}.scheme()
}

func paddleScheme() *scheme {
	return tvSpec{
		id: "paddle", name: "Paddle Billing",
		desc:   "The notification destination's secret key (pdl_ntfset_…) under Developer tools > Notifications, used whole.",
		header: "Paddle-Signature", pairSep: ";", tsKey: "ts", sigKey: "h1", msgSep: ":",
		// Paddle's Node SDK: 5 s, too-old only. Tight for a request bin: tolerance_s widens it.
		tol: tolerance{d: 5 * time.Second, past: true},
	}.scheme()
}

// parsePagerDuty returns the v1= entries of an X-PagerDuty-Signature list;
// entries with other versions are ignored.
func parsePagerDuty(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(e), "v1="); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func pagerdutyScheme() *scheme {
	const header = "X-PagerDuty-Signature"
	return &scheme{
		Provider: Provider{ID: "pagerduty", Name: "PagerDuty",
			Description: "The webhook subscription's secret, shown once when the v3 webhook subscription is created.",
			Params:      []Param{secretParam("Subscription secret; several, one per line, during rotation.")}},
		sigHeaders: []string{header},
		read: func(in Input, _ Params) (reading, error) {
			r := reading{header: header}
			var vals []string
			for _, v := range in.Header.Values(header) {
				vals = append(vals, parsePagerDuty(v)...)
			}
			if len(in.Header.Values(header)) == 0 {
				r.problem, r.sigMissing = "the request has no "+header+" header.", true
				return r, nil
			}
			if len(vals) == 0 {
				r.problem = header + " has no v1= signature."
				return r, nil
			}
			remsg := func(b []byte) []byte { return b }
			for _, s := range vals {
				r.cands = append(r.cands, candidate{prefix: "v1=", text: s, alg: hmacSHA256, enc: encHex, key: keyRaw, msg: in.Body, remsg: remsg})
			}
			return r, nil
		},
		sign: func(in Input, _ Params, secret string) (http.Header, []byte, error) {
			h := http.Header{}
			h.Set(header, "v1="+encHex.encode(compute(hmacSHA256, []byte(secret), in.Body)))
			return h, nil, nil
		},
	}
}
