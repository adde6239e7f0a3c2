// Package redact is the engine's one masker of secret values (password
// parameters, tokens, secret configuration values). Every place that shows
// text a script or a plugin wrote (agent/script, session, plugins and
// plugins/sdk) masks it here, so that they all hide the same things.
//
// A Masker hides each secret and its common transforms, wherever they occur:
//
//   - the secret in any letter case (Unicode simple case folding: HUNTER2,
//     Hunter2);
//   - hex, either case;
//   - URL-escaped (query escaping with + or %20 for a space, path escaping),
//     either case of the %XX digits;
//   - JSON-escaped (as Go, JavaScript, PowerShell, Python and PHP escape it);
//   - base64, standard and URL alphabets, padded or not, whole or embedded in
//     a longer encoded text at any of the three byte alignments. An embedded
//     secret's encoding shares its first and last characters with its
//     neighbours' bytes, so a match is widened by up to three base64
//     characters on each side: no bit of the secret stays visible.
//
// A match of any of these is replaced, with whatever overlaps it, by one
// token. The masking is done on assembled text, never on fragments: String
// masks a whole text, and a Stream masks text that arrives in chunks by
// holding back the tail of each chunk that could still be the start of a
// secret (at most the longest transform plus three bytes) until the next
// chunk or Close. Capping the masked text afterwards cannot rebuild a secret
// from fragments, as no fragment of one is ever let through.
//
// Not covered: transforms of transforms (the base64 of an upper-cased
// secret), base64 broken over lines, encodings other than those above, and
// a secret printed in pieces by the script itself.
package redact
