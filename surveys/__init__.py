"""The standard returnee questionnaire as versioned data, and the small engine that loads,
validates and scores it and turns it into forms. No Flask request code lives here.

Empty until the questionnaire issue: the returnee registry (monitor/) is what stands so far.
"""
