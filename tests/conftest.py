import os
import sys

# gradcheck.py and other helpers live beside the tests
sys.path.insert(0, os.path.dirname(__file__))
