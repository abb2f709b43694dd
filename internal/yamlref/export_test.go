package yamlref

// MergeBomb is mergeBomb for the external tests (the fuzz seeds).
var MergeBomb = mergeBomb

// Helpers of the internal tests, for the external ones.
var (
	CheckPins = checkPins
	PinAll    = pinAll
	Fixed     = fixed
)
