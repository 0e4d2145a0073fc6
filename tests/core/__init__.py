"""Tests of the domain (fakevoipbin/core/), driven directly"""
