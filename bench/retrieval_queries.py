"""What the retrieval bench asks and how it judges a ranked list: the category queries, the negation
queries, the scene-level queries' file, and the per-query measures (bench/bench_retrieval.py)."""

from __future__ import annotations

import math
from pathlib import Path

SCENES = Path(__file__).with_name("scene_queries.json")  # judged row ids for one file (no texts)

QUERIES = {  # three paraphrases per category, the first being the query earlier versions measured alone
    1: ["a pedestrian steps into the road in front of the car",
        "someone walks out into the street and the car has to stop for them",
        "people crossing the road outside a crosswalk, jaywalking"],
    2: ["another car swerves or pulls out suddenly and the car has to brake hard",
        "a vehicle cuts in front of us without warning",
        "a driver runs a red light or drives the wrong way"],
    3: ["a police officer directs traffic through the intersection",
        "a traffic cop waving cars through",
        "a worker holding a sign controls the traffic"],
    4: ["construction cones and workers block the lane",
        "road work zone with a closed lane and a detour",
        "the traffic light is broken or not working"],
    5: ["an obstacle or debris lies in the road",
        "something is lying on the road and the car goes around it",
        "a pothole or fallen object in the lane"],
    6: ["a cyclist riding the wrong way in the road",
        "a bicycle or scooter rider in the middle of the lane",
        "a slow unusual vehicle like a horse carriage or tractor on the road"],
    8: ["snow or ice on the road",
        "driving through heavy rain or fog with poor visibility",
        "slippery snowy streets in winter"],
    9: ["a double-parked car blocks the lane",
        "a delivery truck stopped in the street so the car must go around",
        "a bus or taxi stopping to let passengers out in the lane"],
    10: ["police cars and emergency vehicles stopped on the road",
         "an ambulance or fire truck with flashing lights",
         "a crash or accident scene on the road"],
}

# Queries with a "not ..." clause whose negated thing is common in driving logs: measured parsed (the default)
# and as one bag of words (search.parse=false), by the share of top-10 hits holding the negated words
NEGATIONS = [
    "the car stops, not at a red light",
    "the car stops, not at a stop sign",
    "the car turns at the intersection, not right",
    "the car turns, not left",
    "pedestrians in the road, no crosswalk",
    "the car slows down for traffic, not at an intersection",
    "the car accelerates, not because the light turns green",
    "the car merges into another lane without slowing down",
    "a parked car, not in the lane",
    "the car drives slowly in heavy traffic, not at a stop sign",
    "the car stops for pedestrians, not at a crosswalk",
    "the car waits at a red light, no pedestrians",
    "the car changes lanes, not to the left",
    "the car is stopped in traffic, not at a red light",
]



def ndcg(relevant: list[bool], n_relevant: int) -> float:
    """nDCG of the top 10: binary gains, the ideal ranking putting min(10, n_relevant) hits first."""
    dcg = sum(1 / math.log2(i + 2) for i, rel in enumerate(relevant[:10]) if rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, n_relevant)))
    return dcg / ideal if ideal else 0.0


def scene_scores(ids: list[str], judged: set[str]) -> tuple[float, float, float, float]:
    """P@10, P@10 over what a perfect ranking reaches, nDCG@10 and reciprocal rank of one query."""
    relevant = [i in judged for i in ids[:10]]
    best = min(len(judged), 10) / 10
    first = next((i + 1 for i, rel in enumerate(relevant) if rel), None)
    return sum(relevant) / 10, sum(relevant) / 10 / best, ndcg(relevant, len(judged)), 1 / first if first else 0.0
