"""What several test directories share: the real services the tests run against
(registry, git remotes, forge fake, smart-HTTP git) and the fixtures that start them.
Tests import helpers from here, never from another test directory."""
