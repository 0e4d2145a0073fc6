"""Tests of fakevoipbin/contract/: verify, its state machine and its target"""
