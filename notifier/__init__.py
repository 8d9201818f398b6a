"""The notifier: follows run outcomes, decides who is told, and delivers with retries."""
