"""The class's reasoning in aggregate: the summary, the debate screen and the debate brief."""
