"""Writes and actions of the recommender: training, activation, serving (with impressions), evaluation."""
