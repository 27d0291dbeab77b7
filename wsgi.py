from kiosk import create_app

app = create_app()
