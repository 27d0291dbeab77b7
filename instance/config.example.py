# Copy to instance/config.py and adjust. Environment variables override these values.
# DATABASE_URL = "postgresql://kiosk@db.internal/kiosk"
# SECRET_KEY = "<long random string>"
# PASS_KEYS = "B:<32+ random characters>,A:<the previous key, until paper passes are reprinted>"
# ID_HASH_KEY = "<long random string; never change it once residents are registered>"
# TIMEZONE = "Asia/Shanghai"
# PASS_STEP_SECONDS = 30
# RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379"
