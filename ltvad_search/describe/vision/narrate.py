"""Measurements and tracks written down as plain sentences, each one backed by what was measured.

The scorer reads these descriptions and nothing else, so they say only what was seen, with the
model's confidence in words ("clearly", "likely", "possibly"), and what was not looked for is said
once at the end. Pure functions: the same measurements always give the same words, which also lets
the score cache answer identical quiet segments once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ltvad_search.describe.vision.classifier import Guess
from ltvad_search.describe.vision.cues import BRISK, CUT, JOLT, STILL, Measurements
from ltvad_search.describe.vision.events import Event
from ltvad_search.describe.vision.plausible import UNSURE
from ltvad_search.describe.vision.tracks import (
    ANIMALS,
    CAR_WIDTH_M,
    OBJECTS,
    RIDERS,
    SIGNALS,
    VEHICLE_WIDTH_M,
    VEHICLES,
    Track,
    article,
    crosses,
    drift,
    growth,
    metres_away,
    nearness,
    noun,
    on_road,
    side,
    where,
)

APPROACH_FAST = 0.25  # box growth per second: time to contact under 4 s
APPROACH = 0.1
RISK_M = 6.0  # a vehicle ahead this near, and closing, is a collision risk ...
RISK_CONFIDENCE = 0.55  # ... when it is at least "likely seen": a flickering box is no grounds for alarm
# Haze: on the dev clips the dark channel around the horizon is 0.59-0.60 in dense fog and at most
# 0.42 in clear real footage (a sunlit motorway), but 0.62 under the demo's flat pale sky; the texture
# there tells them apart: mean |Laplacian| 1.9-2.1 in fog, at least 3.1 in clear daylight (4.2 in the
# demo). Night footage has texture as low, but no airlight (dark channel 0).
HAZY = 0.5
HAZE_TEXTURE = 2.6
NOBODY = "No other road users are in view."


def light_sentence(m: Measurements) -> str:
    if m.brightness < 55:
        light = "It is dark, as at night or in a tunnel"
    elif m.brightness < 95:
        light = "The light is dim, as at dusk or under heavy cloud"
    else:
        light = "It is daylight"
    if m.contrast < 28 and not hazy(m):
        light += (", and the image is low in contrast and washed out, so visibility looks reduced "
                  "(fog, snow, rain or glare)")
    return light + "."


def hazy(m: Measurements) -> bool:
    return m.haze >= HAZY and m.haze_detail < HAZE_TEXTURE


def weather_sentences(m: Measurements) -> list[str]:
    """Fog or mist, from the haze estimate (said as likely: it is an estimate from brightness alone)."""
    if not hazy(m):
        return []
    return ["The road ahead is likely in fog or mist, and visibility is reduced: the distance fades into a "
            "bright, colourless haze."]


def motion_sentence(speed: np.ndarray, at: Callable[[int], str]) -> str:
    """One sentence on ego motion; a stop needs two still pairs in a row, so one noisy pair is ignored."""
    still = speed < STILL
    if still.all():
        return "The road surface in view hardly changes: the vehicle appears to be stopped or creeping."
    brakes = [i for i in range(1, len(speed)) if speed[i - 1] >= BRISK and still[i:].all() and still[i]]
    if brakes:
        return f"The vehicle moves forward and then slows sharply around {at(brakes[0])}, as in hard braking."
    if len(speed) >= 3 and still[-2:].all():
        return "The vehicle moves forward and comes to a stop."
    if len(speed) >= 3 and still[:2].all():
        return "The vehicle starts from a stop and moves off."
    if float(np.median(speed)) < 2 * STILL:
        return "The vehicle creeps forward slowly."
    return "The vehicle moves forward at a steady pace."


def impacts(m: Measurements) -> list[int]:
    """Frame pairs where the whole image jumps far beyond its usual shake and the car then slows to
    under half its pace: an impact changes ego motion, while a pothole, a kerb, a keyframe or the
    sampling of a bumpy road does not (half a second apart, a jump alone is mostly noise)."""
    typical = float(np.median(m.shake)) if m.shake else 0.0
    speed = m.speed

    def slows(i: int) -> bool:
        before, after = speed[max(0, i - 2): i + 1], speed[i + 1: i + 3]
        return bool(before) and bool(after) and float(np.mean(after)) < 0.5 * float(np.mean(before))

    return [i for i, s in enumerate(m.shake) if s > JOLT and s > 3 * typical + 1 and slows(i)]


def cue_sentences(m: Measurements) -> list[str]:
    """Light, ego motion, swerves, shake, cuts and lights: what the pixel cues found."""
    at = lambda i: f"{m.times[min(i + 1, len(m.times) - 1)]:.1f} s"  # noqa: E731  (pair i ends at frame i+1)
    out = [light_sentence(m), *weather_sentences(m),
           motion_sentence(np.array(m.speed) if m.speed else np.zeros(1), at)]
    lateral = np.array(m.lateral) if m.lateral else np.zeros(1)
    swerves = [i for i in range(1, len(lateral)) if abs(lateral[i] - lateral[i - 1]) > 40]
    if len(swerves) >= 2:
        out.append("The view swings left and right quickly, as in a swerve or sudden lane change.")
    elif np.abs(lateral).mean() > 25:
        out.append(f"The view pans steadily to the {'left' if lateral.mean() > 0 else 'right'}, as in a turn.")
    jolts = impacts(m)
    if jolts:
        out.append(f"The whole image jumps abruptly around {at(jolts[0])} and the vehicle then slows sharply, "
                   "as from an impact.")
    cuts = [i for i, c in enumerate(m.cut) if c > CUT]
    if cuts:
        out.append(f"The scene changes abruptly around {at(cuts[0])}, as at a cut or a sudden change of view.")
    red, blue = np.array(m.red), np.array(m.blue)
    flashing = (red.max() > 4e-4 and blue.max() > 4e-4
                and (red.max() > 2.5 * red.min() + 1e-4 or blue.max() > 2.5 * blue.min() + 1e-4))
    if flashing:
        out.append("Bright red and blue lights flash in the scene, as on an emergency vehicle.")
    elif red.mean() > 2e-3:
        out.append("Bright red lights are visible ahead, such as brake or tail lights.")
    return out


def event_sentences(found: Sequence[Event], limit: int = 4) -> list[str]:
    """The segment's events, most unusual first, each with how sure the measurement is; at most
    `limit`, so that a paragraph stays short enough for its worst moment to stand out."""
    return [f"{e.sentence} ({e.sure} seen)." for e in found[:limit]]


def sure(score: float) -> str:
    return "clearly" if score >= 0.8 else "likely" if score >= RISK_CONFIDENCE else "possibly"


def _plural(n: int, noun: str) -> str:
    if noun == "person" and n != 1:
        return f"{n} people"
    return f"{n} {noun}{'' if n == 1 else 'es' if noun.endswith('s') else 's'}" if n != 1 else f"a {noun}"


def distance_m(track: Track) -> float:
    """The estimated distance to a vehicle, from its apparent width in the last frame it was seen."""
    return metres_away(track.last, VEHICLE_WIDTH_M.get(track.label, CAR_WIDTH_M))


def approach(track: Track) -> str | None:
    """The approach a growing box shows, in words (with the time to contact when it is short)."""
    rate = growth(track)
    if rate >= APPROACH_FAST:
        return f"coming closer fast (time to contact about {max(1, round(1 / rate))} s)"
    return "coming closer" if rate >= APPROACH else None


def _vehicle_motion(track: Track, ego_moving: bool) -> str | None:
    """How a vehicle moves relative to the car: growth ahead (or of anything while the car stands)
    is its own approach; a close one drifting into the band ahead is cutting in."""
    if side(track.last) == "ahead" or not ego_moving:
        moving = approach(track)
        if moving:
            return moving
    if crosses(track) and nearness(track.last) in ("close", "very close"):
        return "moving into our lane"
    return None


def _user_motion(track: Track) -> str | None:
    """How a person, cyclist or animal on the road moves across the view."""
    if not on_road(track.last):
        return None
    sideways = drift(track)
    if crosses(track):
        return f"crossing in front of the car from the {'left' if sideways > 0 else 'right'}"
    if abs(sideways) >= 0.08:
        return f"moving to the {'right' if sideways > 0 else 'left'}"
    return approach(track)


def _place(track: Track) -> str:
    place = "ahead" if crosses(track) else side(track.last)  # one crossing the road was ahead of the car
    if not on_road(track.last):
        return "ahead, off the road" if place == "ahead" else f"to the {place}, off the road"
    return "on the road ahead" if place == "ahead" else f"at the {place} edge of the road"


def _seen(track: Track, frames: int) -> str:
    return f"{sure(track.confidence)} seen, in {len(track.times)} of {frames} frames"


def object_sentences(tracks: Sequence[Track], guesses: Mapping[Track, Guess], *, ego_moving: bool,
                     frames: int, limit: int = 3) -> list[str]:
    """Road users and signals the detector followed, most telling first, in a bounded paragraph.

    People, cyclists and animals on the road each get a sentence (what, where, how they move); of
    the vehicles, the nearest one ahead in our lane and any other that approaches or cuts in. At
    most `limit` of each, so that a busy segment does not bury what matters; the rest, and people
    standing at the roadside, are counted in one sentence. A track must be seen in two frames, or
    once with high confidence.
    """
    seen = [t for t in tracks if len(t.times) >= 2 or t.confidence >= 0.8]
    out: list[str] = []
    users = sorted((t for t in seen if t.label in RIDERS | ANIMALS | {"person", UNSURE}),
                   key=lambda t: -(t.last[3] - t.last[1]))
    roadside: list[Track] = []
    for track in users:
        motion = _user_motion(track)
        if not (motion or side(track.last) == "ahead") or len(out) >= limit:
            roadside.append(track)
            continue
        unsure = ", which the detector took for an animal but may be a two-wheeler or a person" \
            if track.label == UNSURE else ""
        out.append(f"{article(track.label).capitalize()} is {_place(track)}{unsure}"
                   + (f", {motion}" if motion else "") + f" ({_seen(track, frames)}).")
    vehicles = sorted((t for t in seen if t.label in VEHICLES), key=lambda t: -(t.last[2] - t.last[0]))
    ahead = [t for t in vehicles if side(t.last) == "ahead"]
    told: list[Track] = []
    for track in vehicles:
        motion = _vehicle_motion(track, ego_moving)
        lead = bool(ahead) and track is ahead[0]
        if not (lead or motion) or len(told) >= limit:
            continue
        place = "ahead in our lane" if side(track.last) == "ahead" else f"on the {side(track.last)}"
        metres = distance_m(track)
        how_far = nearness(track.last) + (f", about {metres:.0f} m away" if metres < 30 else "")
        out.append(f"A {noun(track.label)} is {place}, {how_far}" + (f", {motion}" if motion else "")
                   + f" ({_seen(track, frames)}).")
        if lead and metres <= RISK_M and growth(track) >= APPROACH and track.confidence >= RISK_CONFIDENCE:
            # it looms while we creep (or drive): it is slower than us, so the gap shrinks
            pace = "much slower than us" if ego_moving else "stopped or nearly stopped"
            out.append(f"The {noun(track.label)} is {pace} in our lane about {metres:.0f} m ahead, and the gap "
                       "keeps closing: a collision risk.")
        told.append(track)
    counts = {place: [t for t in vehicles if t not in told and side(t.last) == place]
              for place in ("ahead", "left", "right")}
    groups = [f"{_plural(len(ts), 'vehicle')} {'further ahead' if place == 'ahead' else 'on the ' + place}"
              for place, ts in counts.items() if ts]
    kinds = sorted({noun(t.label) for t in roadside})
    if roadside:
        groups.append(f"{_plural(len(roadside), kinds[0] if len(kinds) == 1 else 'road user')} at the roadside")
    if groups:
        out.append(f"{'Also ' if told or len(out) else ''}{', '.join(groups)}.".capitalize())
    if not any(t.label in VEHICLES | RIDERS | ANIMALS | {"person", UNSURE} for t in seen):
        out.append(NOBODY)
    for track, guess in guesses.items():
        out.append(f"The classifier thinks the {noun(track.label)} {where(track.last)} may be "
                   f"{'an' if guess.name[0] in 'aeiou' else 'a'} {guess.name} ({guess.probability:.0%}).")
    signals = sorted({t.label for t in seen if t.label in SIGNALS})
    if signals:
        out.append(f"There is {' and '.join('a ' + s for s in signals)}.")
    things = sorted({t.label for t in seen if t.label in OBJECTS and on_road(t.last) and side(t.last) == "ahead"})
    if things:
        out.append(f"There is {', '.join(article(s) for s in things)} on the road ahead.")
    return out


# What each sentence above says, as a pattern on its wording: the real-footage bench counts how often
# each cue fires on routine and on long-tail segments (the describer's precision). Edit a template,
# edit its pattern; tests/.../test_narrate.py checks them against sentences the templates write.
CUES: dict[str, re.Pattern[str]] = {name: re.compile(pattern) for name, pattern in {
    "impact": r"whole image jumps abruptly",
    "fog or mist": r"likely in fog or mist",
    "washed-out view": r"washed out",
    "scene cut": r"scene changes abruptly",
    "flashing red and blue lights": r"red and blue lights flash",
    "brake lights ahead": r"Bright red lights are visible ahead",
    "hard braking": r"slows sharply",
    "swerve": r"swings left and right quickly",
    "turn": r"pans steadily to the",
    "stopped or creeping": r"appears to be stopped or creeping|comes to a stop|creeps forward",
    "collision risk": r"collision risk",
    "time to contact": r"time to contact",
    "coming closer": r"coming closer",
    "crossing": r"crossing in front of the car",
    "moving into our lane (cut-in)": r"moving into our lane",
    "classifier guess": r"The classifier thinks",
    "uncertain animal": r"took for an animal but may be",
    "event: sudden approach": r"comes at us very fast",
    "event: pull-out": r"(?:pulls|steps|runs) out in front of us",
    "event: sudden appearance": r"appears suddenly close (?:ahead|on the)",
    "event: cut-in": r"moves into our lane close ahead",
    "event: road users meeting": r"come together at the same distance",
    "event: fall": r"appears to fall",
    "event: tipping or rolling": r"tipping over or rolling",
    "event: abrupt stop": r"stops abruptly in front of us",
    "object on the road": r"There is [^.]* on the road ahead",
}.items()}
_NAMED = re.compile(r"(?:^|(?<=\. ))An? ([a-z]+(?: [a-z]+)?) is ")
_LISTED = re.compile(r"(?:^|(?<=\. ))There is ([^.]+?)(?: on the road ahead)?\.")


def cues_in(text: str) -> set[str]:
    """The cues a description states (names of `CUES`)."""
    return {name for name, pattern in CUES.items() if pattern.search(text)}


def classes_in(text: str) -> set[str]:
    """The detector classes a description names: road users told one by one, signals and objects listed."""
    named = set(_NAMED.findall(text))
    for listed in _LISTED.findall(text):
        named |= {re.sub(r"^an? ", "", item.strip()) for item in re.split(r",| and ", listed) if item.strip()}
    return named


# What the closing sentence names when a paragraph states it (the cue names above): events and
# conditions, the things a reader must not miss however long the paragraph.
NOTABLE = {
    "event: sudden approach": "a vehicle coming at us", "event: pull-out": "a road user pulling out in front of us",
    "event: sudden appearance": "a road user appearing suddenly close", "event: cut-in": "a cut-in",
    "event: road users meeting": "two road users meeting, possibly colliding", "event: fall": "a fall",
    "event: tipping or rolling": "a vehicle tipping or rolling", "event: abrupt stop": "an abrupt stop ahead",
    "collision risk": "a collision risk ahead", "impact": "an impact", "hard braking": "hard braking",
    "swerve": "a swerve", "flashing red and blue lights": "flashing emergency lights", "fog or mist": "fog or mist",
}


def closing_sentence(text: str) -> str:
    """One last sentence naming what the paragraph found unusual, or that it found nothing: the
    scorer reads the whole paragraph, and a small model weighs its end the most."""
    found = [words for cue, words in NOTABLE.items() if CUES[cue].search(text)]
    return f"Unusual: {', '.join(found)}." if found else "Nothing unusual was detected."
