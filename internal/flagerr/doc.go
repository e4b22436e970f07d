// Package flagerr rewrites pflag's parse errors for people: the flag, the
// value given and the kind of value wanted in words,
//
//	--node-id "abc": want a whole number
//
// instead of "invalid argument "abc" for "--node-id" flag: strconv.ParseInt:
// parsing "abc": invalid syntax". Both binaries install it with
// cobra's SetFlagErrorFunc.
package flagerr
