package ingress

import (
	"fmt"
	"slices"
	"strings"
)

// goSuite is a TLS 1.2 cipher suite that Go's crypto/tls offers and counts
// secure (tls.CipherSuites), by its OpenSSL name, with what OpenSSL's
// cipher-list keywords match it by.
type goSuite struct {
	openSSL, name string
	// auth is "aRSA" or "aECDSA"; enc "AES128", "AES256" or "CHACHA20";
	// gcm says AES in GCM mode; sha1 says HMAC-SHA1 (CBC suites), the
	// others are AEAD.
	auth, enc string
	gcm, sha1 bool
}

// goSuites are Go's secure TLS 1.2 suites. All use ECDHE key exchange.
var goSuites = []goSuite{
	{"ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "aECDSA", "AES128", true, false},
	{"ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "aECDSA", "AES256", true, false},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "aECDSA", "CHACHA20", false, false},
	{"ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "aECDSA", "AES128", false, true},
	{"ECDHE-ECDSA-AES256-SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "aECDSA", "AES256", false, true},
	{"ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "aRSA", "AES128", true, false},
	{"ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "aRSA", "AES256", true, false},
	{"ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "aRSA", "CHACHA20", false, false},
	{"ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "aRSA", "AES128", false, true},
	{"ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "aRSA", "AES256", false, true},
}

// insecureSuites are the OpenSSL names of the suites Go has but counts
// insecure (tls.InsecureCipherSuites): named, they are refused.
var insecureSuites = []string{
	"AES128-SHA", "AES256-SHA", "AES128-SHA256", "AES128-GCM-SHA256", "AES256-GCM-SHA384",
	"DES-CBC3-SHA", "ECDHE-RSA-DES-CBC3-SHA", "RC4-SHA", "ECDHE-RSA-RC4-SHA", "ECDHE-ECDSA-RC4-SHA",
	"ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA256",
}

// keywords are the OpenSSL keywords that a list may select, combine
// (K1+K2) or exclude (!K or -K): what each matches among goSuites is
// exact. Every one of Go's secure suites is in HIGH (AES and ChaCha20,
// with ECDHE), so HIGH, ALL and DEFAULT match all of them; keywords for
// algorithms or strengths Go does not offer match none.
var keywords = map[string]func(s *goSuite) bool{
	"ALL":      all,
	"DEFAULT":  all,
	"HIGH":     all,
	"ECDHE":    all,
	"EECDH":    all,
	"kECDHE":   all,
	"kEECDH":   all,
	"aRSA":     func(s *goSuite) bool { return s.auth == "aRSA" },
	"aECDSA":   func(s *goSuite) bool { return s.auth == "aECDSA" },
	"ECDSA":    func(s *goSuite) bool { return s.auth == "aECDSA" },
	"AES":      func(s *goSuite) bool { return s.enc != "CHACHA20" },
	"AES128":   func(s *goSuite) bool { return s.enc == "AES128" },
	"AES256":   func(s *goSuite) bool { return s.enc == "AES256" },
	"AESGCM":   func(s *goSuite) bool { return s.gcm },
	"CHACHA20": func(s *goSuite) bool { return s.enc == "CHACHA20" },
	"SHA1":     func(s *goSuite) bool { return s.sha1 },
	"SHA":      func(s *goSuite) bool { return s.sha1 },
	"AEAD":     func(s *goSuite) bool { return !s.sha1 },
}

func init() {
	for _, k := range []string{
		"aNULL", "eNULL", "NULL", "EXPORT", "EXP", "LOW", "MD5", "RC4", "DES", "3DES", "IDEA", "SEED",
		"CAMELLIA", "CAMELLIA128", "CAMELLIA256", "ARIA", "PSK", "aPSK", "kPSK", "SRP", "kSRP", "DSS", "aDSS",
		"RSA", "kRSA", "ADH", "AECDH", "DH", "DHE", "EDH", "kDHE", "kEDH", "MEDIUM", "COMPLEMENTOFDEFAULT",
		"COMPLEMENTOFALL",
	} {
		keywords[k] = none
	}
}

func all(*goSuite) bool  { return true }
func none(*goSuite) bool { return false }

// goCipherSuites maps an OpenSSL cipher list to Go's TLS 1.2 suite names,
// sorted (Go orders the suites it offers itself). Elements are separated
// by ':' (or ',' or spaces, as OpenSSL allows): a suite's OpenSSL name, a
// keyword (HIGH, ECDHE, AESGCM, ...) or a combination of them (ECDHE+AESGCM,
// the suites that match all its parts), each selecting among Go's secure
// suites only; an exclusion (!K removes for good, -K until selected
// again); +K and @STRENGTH, which only reorder, as Go orders the suites
// itself. Insecure suites named on their own, TLS 1.3 suites (which Go
// does not let one configure) and other @ commands are refused.
func goCipherSuites(list string) ([]string, error) {
	if err := checkCipherList(list); err != nil {
		return nil, err
	}
	on := make(map[string]bool)
	banned := make(map[string]bool)
	for _, el := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		switch {
		case el == "@STRENGTH":
			continue
		case el[0] == '@':
			return nil, fmt.Errorf("%s is not supported (Go orders the suites itself)", quoted(el))
		case el[0] == '+':
			if _, err := selected(el[1:]); err != nil {
				return nil, err
			}
			continue
		case el[0] == '!' || el[0] == '-':
			match, err := selected(el[1:])
			if err != nil {
				return nil, err
			}
			for _, s := range goSuites {
				if match(&s) {
					delete(on, s.openSSL)
					if el[0] == '!' {
						banned[s.openSSL] = true
					}
				}
			}
			continue
		}
		if !strings.Contains(el, "+") {
			if _, err := suite(el); err != nil && keywords[el] == nil {
				return nil, err
			}
		}
		match, err := selected(el)
		if err != nil {
			return nil, err
		}
		for _, s := range goSuites {
			if match(&s) && !banned[s.openSSL] {
				on[s.openSSL] = true
			}
		}
	}
	var names []string
	for _, s := range goSuites {
		if on[s.openSSL] {
			names = append(names, s.name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s leaves none of the cipher suites supported (%s)", quoted(list), suiteNames())
	}
	slices.Sort(names)
	return names, nil
}

// suite returns the suite an element of a cipher list names.
func suite(el string) (*goSuite, error) {
	for i := range goSuites {
		if goSuites[i].openSSL == el {
			return &goSuites[i], nil
		}
	}
	switch {
	case slices.Contains(insecureSuites, el):
		return nil, fmt.Errorf("cipher %s is insecure (no forward secrecy or a broken cipher) and not offered", el)
	case strings.HasPrefix(el, "TLS_"):
		return nil, fmt.Errorf("cipher %s: TLS 1.3 suites are not configurable (Go offers all of them)", el)
	}
	return nil, fmt.Errorf("cipher %s is not one of the suites supported (%s) nor a keyword whose suites are known", quoted(el), suiteNames())
}

// selected returns what an element, less its prefix, matches among
// goSuites: a suite, a keyword, or parts joined by + (all must match).
// Insecure suites match nothing, as they are never offered.
func selected(el string) (func(*goSuite) bool, error) {
	parts := strings.Split(el, "+")
	matches := make([]func(*goSuite) bool, len(parts))
	for i, k := range parts {
		switch {
		case keywords[k] != nil:
			matches[i] = keywords[k]
		case slices.Contains(insecureSuites, k):
			matches[i] = none
		default:
			s, err := suite(k)
			if err != nil {
				return nil, err
			}
			name := s.openSSL
			matches[i] = func(s *goSuite) bool { return s.openSSL == name }
		}
	}
	return func(s *goSuite) bool {
		for _, m := range matches {
			if !m(s) {
				return false
			}
		}
		return true
	}, nil
}

// suiteNames lists the OpenSSL names of goSuites.
func suiteNames() string {
	names := make([]string, len(goSuites))
	for i, s := range goSuites {
		names[i] = s.openSSL
	}
	return strings.Join(names, ", ")
}
