"""Ranking candidate intermediate tasks for a target without training the grid (`stilts-rank`)."""
