"""Run the bot inside CI: read the job's settings from the environment, call the command
line once, then publish its JSON report the way the CI system shows results (GitHub step
outputs, step summary and annotations; GitLab dotenv report and job log).

The action (``action.yml``) and the GitLab template (``.gitlab-ci-template.yml``) run
``python -m updater.ci github|gitlab``; every input reaches this code as an environment
variable, never as text spliced into a shell script.
"""
