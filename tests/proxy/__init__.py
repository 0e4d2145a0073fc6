"""Tests of fakevoipbin/proxy/: the checking proxy, its session and its recording"""
