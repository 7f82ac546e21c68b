package publish

// RaceEnabled exposes raceEnabled to the black-box tests.
const RaceEnabled = raceEnabled
